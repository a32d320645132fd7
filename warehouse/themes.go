package warehouse

import "icesurvey/schemas"

// The theme coding's codes (issue #17): response_themes holds, for every free-text
// answer of a wave and ICS, the machine's suggested themes and every coder's decisions
// (codes, polarity, who or what coded it, codebook version), never the text. Each
// coding run writes an ICS's rows whole, so a load replaces the ICS's partition. Counts
// from it go through the publication's disclosure rules before anyone outside the
// named readers sees them.
func init() {
	t := Table{Name: schemas.TableResponseThemes, Layout: schemas.ResponseThemeLayout(), PartitionBy: []string{"wave", "ics"},
		Doc: "themes of each free-text answer: the machine's suggestions and coders' decisions (final marks the code that stands); codes only"}
	if _, dup := Tables[t.Name]; dup {
		panic("warehouse: table " + string(t.Name) + " declared twice")
	}
	Tables[t.Name] = t
	Register(Migration{Version: 18, Name: "response_themes", SQL: []string{t.DDL()}})
}
