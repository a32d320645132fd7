package schemas

import "fmt"

// Store key layout. Every stage names its objects through these functions so the
// restricted area, the lake and the landing area never mix.
//
//	landing/{wave}/{ics}/...            files as received from ICSs and suppliers
//	restricted/{wave}/{ics}/...         identifiable data: contacts, print files, DBS exchange
//	lake/{table}/wave={wave}/ics={ics}/ pseudonymised analysis data (Parquet)
//	reports/{wave}/{ics}/...            rejection reports and declarations
//	audit/...                           the audit trail

// RestrictedPrefix is the restricted area for one ICS of one wave.
func RestrictedPrefix(wave, ics string) string { return fmt.Sprintf("restricted/%s/%s/", wave, ics) }

// LakePartition is the lake partition of table for one ICS of one wave.
func LakePartition(table, wave, ics string) string {
	return fmt.Sprintf("lake/%s/wave=%s/ics=%s/", table, wave, ics)
}

// ReportsPrefix is where reports for one ICS of one wave go.
func ReportsPrefix(wave, ics string) string { return fmt.Sprintf("reports/%s/%s/", wave, ics) }
