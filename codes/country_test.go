package codes

import "testing"

func TestForeignCountry(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"France", true},
		{"  FRANCE  ", true},
		{"Spain", true},
		{"España", true},
		{"U.S.A.", true},
		{"United States of America", true},
		{"The Netherlands", true},
		{"Republic of Ireland", true},
		{"Eire", true},
		{"Côte d'Ivoire", true},
		{"Cote D'Ivoire", true},
		{"Trinidad & Tobago", true},
		{"Bosnia-Herzegovina", true},
		{"Bosnia and Herzegovina", true},
		{"St Lucia", true},
		{"Gibraltar", true},
		{"Falkland Islands", true},
		{"United Kingdom", false},
		{"UK", false},
		{"England", false},
		{"Wales", false},
		{"Scotland", false},
		{"Northern Ireland", false},
		{"Great Britain", false},
		{"Jersey", false},
		{"Isle of Man", false},
		{"Guernsey", false},
		{"France Street", false},
		{"12 Rue de France", false},
		{"Norwich", false},
		{"Paris", false},
		{"", false},
		{"FRANCE" + string(make([]byte, 80)), false},
	}
	for _, tt := range tests {
		if got := ForeignCountry(tt.line); got != tt.want {
			t.Errorf("ForeignCountry(%q) = %v, want %v (normal form %q)", tt.line, got, tt.want, normaliseCountry(tt.line))
		}
	}
}
