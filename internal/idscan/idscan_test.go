package idscan

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	forbidden := map[string]bool{"9434765919": true, "ab12cd": true}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"alone", "9434765919", []string{"9434765919"}},
		{"between punctuation", `{"nhs":"9434765919","p":"AB12CD"}`, []string{"9434765919", "ab12cd"}},
		{"inside a longer number", "194347659190", nil},
		{"inside a longer token", "xab12cd ab12cdx", nil},
		{"spaced is another token", "943 476 5919", nil},
		{"twice", "ab12cd;ab12cd", []string{"ab12cd", "ab12cd"}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Tokens(tc.text, forbidden); !slices.Equal(got, tc.want) {
				t.Errorf("Tokens(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestMatcherWholeWords(t *testing.T) {
	m := NewMatcher([]Needle{{Text: "943 476 5919", Kind: "NHS number"}, {Text: "Greenhalgh", Kind: "surname"}, {Text: "Ann Greenhalgh", Kind: "name"}})
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"to=943 476 5919.", []string{"943 476 5919"}},
		{"Ann Greenhalgh wrote", []string{"Greenhalgh", "Ann Greenhalgh"}},
		{"Greenhalghs, 1943 476 59190", nil},
		{"MsGreenhalgh", nil},
	} {
		var got []string
		for _, n := range m.Find([]byte(tc.text)) {
			got = append(got, n.Text)
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Find(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestVarcharColumns(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE linked_x (id VARCHAR, n INTEGER, note VARCHAR);
		INSERT INTO linked_x VALUES ('a', 1, NULL), ('b', 2, 'kept');
		CREATE TABLE other (v VARCHAR); INSERT INTO other VALUES ('c')`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		where string
		want  []string
	}{
		{"", []string{"warehouse linked_x.id=a\nb\n", "warehouse linked_x.note=kept\n", "warehouse other.v=c\n"}},
		{"table_name LIKE 'linked%'", []string{"warehouse linked_x.id=a\nb\n", "warehouse linked_x.note=kept\n"}},
	} {
		var got []string
		if err := VarcharColumns(ctx, db, tc.where, func(column, text string) { got = append(got, column+"="+text) }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("where %q: %q, want %q", tc.where, strings.Join(got, " | "), strings.Join(tc.want, " | "))
		}
	}
}
