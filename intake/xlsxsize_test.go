package intake

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"testing"
	"time"
)

// TestXLSXDeclaredSizeChecked: a workbook of a few hundred bytes whose zip directory
// declares a part of gigabytes is refused before excelize allocates for it (found by
// FuzzIntakeXLSX: a 152-byte file held a fuzzing worker for over 10 seconds).
func TestXLSXDeclaredSizeChecked(t *testing.T) {
	for _, tt := range []struct {
		name string
		size uint64
	}{
		{"[Content_Types].xml", 8 << 30},
		{"xl/styles.xml", maxXLSXPart + 1},
		{"xl/worksheets/sheet1.xml", maxXLSXUnpacked + 1},
	} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		body := []byte("<x/>")
		w, err := zw.CreateRaw(&zip.FileHeader{Name: tt.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(body),
			CompressedSize64: uint64(len(body)), UncompressedSize64: tt.size})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
		zw.Close()
		st := newMemStore()
		s, m := goodRows(1)
		mustPut(t, st, "landing/2026-P1/QMM/sample.xlsx", buf.Bytes())
		mustPut(t, st, mailingKey, []byte(csvText(mailingHeader, m)))
		_ = s
		start := time.Now()
		_, err = Run(context.Background(), st, testConfig(), Input{SampleKey: "landing/2026-P1/QMM/sample.xlsx", MailingKey: mailingKey})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Reason != FileXLSXUnreadable || time.Since(start) > 5*time.Second {
			t.Errorf("%s declaring %d bytes: %v after %v, want XLSX_UNREADABLE at once", tt.name, tt.size, err, time.Since(start))
		}
	}
}

func mustPut(t *testing.T, st *memStore, key string, b []byte) {
	t.Helper()
	if err := st.Put(context.Background(), key, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}
