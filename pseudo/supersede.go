package pseudo

// A superseded NHS number (DBS trace status 40: the person's records were merged under
// a new number) changes the person's pseudonym: every dataset keyed by the old number's
// pseudonym must move to the new one's, or linkage would join the person on a number
// that no longer names them.

// Repseudonymise returns the pseudonym of newNHS, the number that superseded the one
// current was derived from, and whether it differs from current.
func (k *Keyed) Repseudonymise(current, newNHS string) (string, bool) {
	p := k.NHSPseudonym(newNHS)
	return p, p != current
}

// RepseudonymiseRecords re-keys the records whose person's NHS number was superseded:
// newNumbers maps a record's id (as id reads it) to the new number, and the pseudonym
// field (as pseudonym points at it) becomes the new number's pseudonym. It returns how
// many records changed; applying the same numbers again changes none.
func RepseudonymiseRecords[T any](k *Keyed, records []T, newNumbers map[string]string, id func(*T) string, pseudonym func(*T) *string) int {
	if len(newNumbers) == 0 {
		return 0
	}
	changed := 0
	for i := range records {
		nhs, ok := newNumbers[id(&records[i])]
		if !ok {
			continue
		}
		field := pseudonym(&records[i])
		if p, differs := k.Repseudonymise(*field, nhs); differs {
			*field = p
			changed++
		}
	}
	return changed
}
