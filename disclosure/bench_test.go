package disclosure

import "testing"

// Typical tables of a release: an ICS's breakdown (a few groups, a small count and a
// base too small) and the table by ICS (42 groups, large counts).
func typicalTables() []Table {
	breakdown := Table{Name: "P03 QMM by age band", Groups: []string{"18-64", "65-74", "75-84", "85+"}, Categories: []string{"1", "2", "3", "4", "5"},
		Counts:             [][]int64{{3, 2, 1, 0, 1}, {60, 100, 30, 12, 4}, {80, 120, 40, 20, 9}, {50, 90, 25, 10, 3}},
		BaseCategories:     []bool{true, true, true, true, false},
		PositiveCategories: []bool{true, true, false, false, false}}
	byICS := Table{Name: "P03 by ICS", Categories: breakdown.Categories, BaseCategories: breakdown.BaseCategories, PositiveCategories: breakdown.PositiveCategories}
	for k := range 42 {
		byICS.Groups = append(byICS.Groups, string(rune('A'+k/26))+string(rune('A'+k%26)))
		byICS.Counts = append(byICS.Counts, []int64{int64(200 + k), 380, 140, 60, int64(20 + k%7)})
	}
	carers := breakdown
	carers.Unweighted = true
	carers.Counts = [][]int64{{1, 1, 0, 0, 0}, {20, 40, 3, 2, 1}, {30, 35, 8, 4, 2}, {25, 20, 6, 1, 0}}
	return []Table{breakdown, byICS, carers}
}

func BenchmarkCheck(b *testing.B) {
	for _, tab := range typicalTables() {
		b.Run(tab.Name+map[bool]string{true: " unweighted"}[tab.Unweighted], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Check(tab, DefaultParams()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
