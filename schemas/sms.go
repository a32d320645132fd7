package schemas

import (
	"fmt"
	"strconv"
	"strings"
)

// Records of one chunk of an SMS step's exactly-once ledger (SMSLedgerChunkKey), #13 item 8.
const (
	// SMSLedgerIntent lists the references of a chunk before any of them is sent.
	SMSLedgerIntent = "intent"
	// SMSLedgerDone holds the outcomes of a chunk's references, once known.
	SMSLedgerDone = "done"
)

const smsChunkPrefix = "chunk-"

// SMSLedgerChunkKey is one record (SMSLedgerIntent or SMSLedgerDone) of chunk n of the
// ledger under prefix (SMSLedgerPrefix): a step's ledger is a handful of these objects,
// not one per message.
func SMSLedgerChunkKey(prefix string, n int, record string) string {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return fmt.Sprintf("%s%s%06d.%s%s", prefix, smsChunkPrefix, n, record, jsonExt)
}

// ParseSMSLedgerChunk reads a key with its ledger prefix removed: the chunk number and
// record of a chunk object, or ok=false for anything else (a per-reference entry of the
// older ledger, LedgerEntryKey).
func ParseSMSLedgerChunk(rest string) (n int, record string, ok bool) {
	name, found := strings.CutPrefix(rest, smsChunkPrefix)
	if !found || strings.Contains(name, "/") {
		return 0, "", false
	}
	name, found = strings.CutSuffix(name, jsonExt)
	if !found {
		return 0, "", false
	}
	num, rec, found := strings.Cut(name, ".")
	if !found || (rec != SMSLedgerIntent && rec != SMSLedgerDone) || len(num) != 6 {
		return 0, "", false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, "", false
	}
	return n, rec, true
}
