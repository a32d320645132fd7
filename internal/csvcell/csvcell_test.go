package csvcell

import "testing"

func TestInert(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"R00001":                         "R00001",
		"=HYPERLINK(\"http://x\",\"y\")": "'=HYPERLINK(\"http://x\",\"y\")",
		"+1+cmd|' /C calc'!A0":           "'+1+cmd|' /C calc'!A0",
		"@SUM(A1:A9)":                    "'@SUM(A1:A9)",
		"\t=1":                           "'\t=1",
		"\r=1":                           "'\r=1",
		"-1+1":                           "'-1+1",
		"-":                              "'-",
		"-12":                            "-12",
		"-1,234.5%":                      "-1,234.5%",
		"a=b":                            "a=b",
		"'=1":                            "'=1", // already text
	} {
		if got := Inert(in); got != want {
			t.Errorf("Inert(%q) = %q, want %q", in, got, want)
		}
	}
	row := []string{"=1", "ok"}
	if got := Row(row); got[0] != "'=1" || got[1] != "ok" || row[0] != "=1" {
		t.Errorf("Row(%q) = %q (and the row given is %q)", []string{"=1", "ok"}, got, row)
	}
}
