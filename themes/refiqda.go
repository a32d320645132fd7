package themes

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// REFI-QDA exchange (the standard of the Rotterdam Exchange Format Initiative, read
// by NVivo, ATLAS.ti, MAXQDA and QualCoder; schemas in schema/ with their source):
//
//   - WriteQDC / ReadQDC: the codebook as a .qdc Codebook Exchange file. Each theme is
//     a codable code with two codable child codes, "<name>: positive" and
//     "<name>: negative"; two sets group the child codes by polarity. The theme's
//     definition, rules of use and examples are its Description, ending with a
//     machine line (icesurvey-theme: id=… code=… codebook=…) so ReadQDC can rebuild
//     the theme. Patterns are not exported: QDA software has no use for them.
//   - WriteQDPX / ReadQDPX: a coded project as a .qdpx Project Exchange file, a zip of
//     project.qde and sources/<guid>.txt, with users, the codebook, one TextSource per
//     comment (its redacted text), a PlainTextSelection per coding carrying a Coding
//     of the theme-and-polarity code, variables (wave, ICS, question …) and notes.
//
// GUIDs are name-based (SHA-1, RFC 4122 version 5 layout) from the codebook version
// and the ids, so exporting the same data twice gives the same file.

const (
	qdcNamespace = "urn:QDA-XML:codebook:1.0"
	qdeNamespace = "urn:QDA-XML:project:1.0"
	guidSpace    = "icesurvey:refi-qda:"
	themeMarker  = "icesurvey-theme:"
)

// GUID returns a stable RFC 4122 version-5-layout GUID for the given parts.
func GUID(parts ...string) string {
	h := sha1.Sum([]byte(guidSpace + strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// ThemeGUID is the GUID of a theme's code; polarity "" is the parent code.
func ThemeGUID(version, theme string, polarity Polarity) string {
	return GUID("code", version, theme, string(polarity))
}

// ---------------------------------------------------------------------------------
// Codebook Exchange (.qdc)

type qdcCodeBook struct {
	XMLName xml.Name  `xml:"urn:QDA-XML:codebook:1.0 CodeBook"`
	Origin  string    `xml:"origin,attr,omitempty"`
	Codes   []qdaCode `xml:"Codes>Code"`
	Sets    []qdcSet  `xml:"Sets>Set,omitempty"`
}

type qdaCode struct {
	GUID        string    `xml:"guid,attr"`
	Name        string    `xml:"name,attr"`
	IsCodable   bool      `xml:"isCodable,attr"`
	Color       string    `xml:"color,attr,omitempty"`
	Description string    `xml:"Description,omitempty"`
	NoteRefs    []qdeRef  `xml:"NoteRef,omitempty"` // the project schema only; always empty here
	Children    []qdaCode `xml:"Code,omitempty"`
}

type qdcSet struct {
	GUID        string   `xml:"guid,attr"`
	Name        string   `xml:"name,attr"`
	Description string   `xml:"Description,omitempty"`
	Members     []qdeRef `xml:"MemberCode"`
}

type qdeRef struct {
	GUID   string `xml:"guid,attr,omitempty"`
	Target string `xml:"targetGUID,attr,omitempty"`
}

func polarityName(t *Theme, p Polarity) string { return t.Name + ": " + string(p) }

// themeDescription renders a theme for a QDA program's code description.
func themeDescription(version string, t *Theme) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(t.Definition))
	list := func(title string, items []string) {
		b.WriteString("\n\n" + title + ":")
		for _, it := range items {
			b.WriteString("\n- " + strings.TrimSpace(it))
		}
	}
	list("When to use", t.WhenToUse)
	list("When not to use", t.WhenNotToUse)
	var ex []string
	for _, e := range t.Examples {
		ex = append(ex, "("+string(e.Polarity)+") "+strings.TrimSpace(e.Text))
	}
	list("Examples", ex)
	fmt.Fprintf(&b, "\n\n%s id=%s code=%s codebook=%s", themeMarker, t.ID, t.Code, version)
	return b.String()
}

// parseThemeDescription rebuilds a theme's text fields from themeDescription's output.
func parseThemeDescription(desc string) (t Theme, version string, err error) {
	lines := strings.Split(strings.ReplaceAll(desc, "\r\n", "\n"), "\n")
	section := "definition"
	var def []string
	for _, l := range lines {
		l = strings.TrimRight(l, " ")
		switch {
		case strings.HasPrefix(l, themeMarker):
			for _, kv := range strings.Fields(strings.TrimPrefix(l, themeMarker)) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "id":
					t.ID = v
				case "code":
					t.Code = v
				case "codebook":
					version = v
				}
			}
		case l == "When to use:":
			section = "use"
		case l == "When not to use:":
			section = "notuse"
		case l == "Examples:":
			section = "examples"
		case section == "definition":
			def = append(def, l)
		case strings.HasPrefix(l, "- "):
			item := strings.TrimPrefix(l, "- ")
			switch section {
			case "use":
				t.WhenToUse = append(t.WhenToUse, item)
			case "notuse":
				t.WhenNotToUse = append(t.WhenNotToUse, item)
			case "examples":
				pol, text, ok := strings.Cut(strings.TrimPrefix(item, "("), ") ")
				if !ok || (Polarity(pol) != Positive && Polarity(pol) != Negative) {
					return t, version, fmt.Errorf("example %q: want (positive) or (negative) first", item)
				}
				t.Examples = append(t.Examples, Example{Text: text, Polarity: Polarity(pol)})
			}
		case l == "":
		default:
			return t, version, fmt.Errorf("unexpected line %q in section %s", l, section)
		}
	}
	if t.ID == "" {
		return t, version, fmt.Errorf("no %q line: not a code this program exported", themeMarker)
	}
	t.Definition = strings.TrimSpace(strings.Join(def, "\n"))
	return t, version, nil
}

func (cb *Codebook) qdaCodes() []qdaCode {
	var out []qdaCode
	for i := range cb.Themes {
		t := &cb.Themes[i]
		c := qdaCode{GUID: ThemeGUID(cb.Version, t.ID, ""), Name: t.Name, IsCodable: true, Color: t.Color,
			Description: themeDescription(cb.Version, t)}
		for _, p := range []Polarity{Positive, Negative} {
			c.Children = append(c.Children, qdaCode{GUID: ThemeGUID(cb.Version, t.ID, p), Name: polarityName(t, p),
				IsCodable: true, Color: t.Color, Description: fmt.Sprintf("%s, coded %s (%s).", t.Name, p, cb.Version)})
		}
		out = append(out, c)
	}
	return out
}

func (cb *Codebook) polaritySets() []qdcSet {
	var sets []qdcSet
	for _, p := range []Polarity{Positive, Negative} {
		s := qdcSet{GUID: GUID("set", cb.Version, string(p)), Name: "Polarity: " + string(p),
			Description: "Every theme coded " + string(p) + "."}
		for _, t := range cb.Themes {
			s.Members = append(s.Members, qdeRef{GUID: ThemeGUID(cb.Version, t.ID, p)})
		}
		sets = append(sets, s)
	}
	return sets
}

func writeXML(w io.Writer, v any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteQDC writes the codebook as a REFI-QDA Codebook Exchange (.qdc) file.
func (cb *Codebook) WriteQDC(w io.Writer) error {
	doc := qdcCodeBook{Origin: "icesurvey " + cb.Version, Codes: cb.qdaCodes(), Sets: cb.polaritySets()}
	return writeXML(w, doc)
}

// ReadQDC reads a .qdc written by WriteQDC back into a codebook: version, title
// (from the origin), and each theme's id, code, name, colour, definition, rules of
// use and examples. Patterns and the negation list are not in the file: take them
// from the embedded codebook of the same version (Load) if needed.
func ReadQDC(r io.Reader) (*Codebook, error) {
	var doc qdcCodeBook
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("qdc: %w", err)
	}
	if doc.XMLName.Space != qdcNamespace {
		return nil, fmt.Errorf("qdc: root namespace %q, want %q", doc.XMLName.Space, qdcNamespace)
	}
	cb := &Codebook{}
	for i, c := range doc.Codes {
		t, version, err := parseThemeDescription(c.Description)
		if err != nil {
			return nil, fmt.Errorf("qdc: Codes/Code[%d] %q Description: %w", i+1, c.Name, err)
		}
		if cb.Version == "" {
			cb.Version = version
		} else if version != cb.Version {
			return nil, fmt.Errorf("qdc: Codes/Code[%d] %q: codebook %q, earlier codes %q", i+1, c.Name, version, cb.Version)
		}
		t.Name, t.Color = c.Name, c.Color
		if c.GUID != ThemeGUID(version, t.ID, "") {
			return nil, fmt.Errorf("qdc: Codes/Code[%d] %q: guid %s is not this theme's", i+1, c.Name, c.GUID)
		}
		cb.Themes = append(cb.Themes, t)
	}
	cb.Title = strings.TrimPrefix(doc.Origin, "icesurvey ")
	return cb, nil
}

// ---------------------------------------------------------------------------------
// Project Exchange (.qdpx)

// Project is a coded set of comments to exchange with QDA software. Texts must be
// redacted: a .qdpx leaves the free-text area.
type Project struct {
	Name      string
	Origin    string // e.g. "icesurvey"
	CreatedBy string // a user id in Users
	CreatedAt time.Time
	Codebook  *Codebook
	Users     []User
	Sources   []Source
	Notes     []Note // notes on the project as a whole
}

// User is a person who coded.
type User struct {
	ID   string
	Name string
}

// Source is one redacted comment or session transcript with its codings.
type Source struct {
	ID        string // response id or transcript key; the source's name
	Text      string
	CreatedAt time.Time
	Variables []Variable // wave, ICS, question …
	Codings   []SourceCoding
	Notes     []Note
}

// Variable is a named text value of a source.
type Variable struct {
	Name  string
	Value string
}

// SourceCoding is one theme coded on a source, on a span of its text given in
// Unicode code points (End exclusive); Start = End = 0 means the whole text.
type SourceCoding struct {
	Theme    string
	Polarity Polarity
	Coder    string // a user id
	At       time.Time
	Start    int
	End      int
	Note     string // the coder's memo, exported as a note on the coding
}

// Note is a memo.
type Note struct {
	Title  string
	Text   string
	Author string // a user id
	At     time.Time
}

type qdeProject struct {
	XMLName          xml.Name `xml:"urn:QDA-XML:project:1.0 Project"`
	Name             string   `xml:"name,attr"`
	Origin           string   `xml:"origin,attr,omitempty"`
	CreatingUserGUID string   `xml:"creatingUserGUID,attr,omitempty"`
	CreationDateTime string   `xml:"creationDateTime,attr,omitempty"`
	// Optional containers are pointers: the schema forbids an empty one (a Notes
	// element must hold a Note), and encoding/xml writes an a>b path's parent even
	// when the slice is empty.
	Users       *qdeUsers     `xml:"Users"`
	CodeBook    *qdeCodeBook  `xml:"CodeBook"`
	Variables   *qdeVariables `xml:"Variables"`
	Sources     *qdeSources   `xml:"Sources"`
	Notes       *qdeNotes     `xml:"Notes"`
	Sets        *qdeSets      `xml:"Sets"`
	Description string        `xml:"Description,omitempty"`
	NoteRefs    []qdeRef      `xml:"NoteRef,omitempty"`
}

type qdeUsers struct {
	User []qdeUser `xml:"User"`
}
type qdeCodeBook struct {
	Codes []qdaCode `xml:"Codes>Code"`
}
type qdeVariables struct {
	Variable []qdeVariable `xml:"Variable"`
}
type qdeSources struct {
	TextSource []qdeSource `xml:"TextSource"`
}
type qdeNotes struct {
	Note []qdeSource `xml:"Note"`
}
type qdeSets struct {
	Set []qdeSet `xml:"Set"`
}

type qdeUser struct {
	GUID string `xml:"guid,attr"`
	Name string `xml:"name,attr,omitempty"`
	ID   string `xml:"id,attr,omitempty"`
}

type qdeVariable struct {
	GUID string `xml:"guid,attr"`
	Name string `xml:"name,attr"`
	Type string `xml:"typeOfVariable,attr"`
}

type qdeSource struct {
	GUID             string         `xml:"guid,attr"`
	Name             string         `xml:"name,attr,omitempty"`
	PlainTextPath    string         `xml:"plainTextPath,attr,omitempty"`
	CreatingUser     string         `xml:"creatingUser,attr,omitempty"`
	CreationDateTime string         `xml:"creationDateTime,attr,omitempty"`
	PlainTextContent *string        `xml:"PlainTextContent,omitempty"`
	Selections       []qdeSelection `xml:"PlainTextSelection,omitempty"`
	NoteRefs         []qdeRef       `xml:"NoteRef,omitempty"`
	VariableValues   []qdeVarValue  `xml:"VariableValue,omitempty"`
}

type qdeSelection struct {
	GUID             string      `xml:"guid,attr"`
	Name             string      `xml:"name,attr,omitempty"`
	Start            int         `xml:"startPosition,attr"`
	End              int         `xml:"endPosition,attr"`
	CreatingUser     string      `xml:"creatingUser,attr,omitempty"`
	CreationDateTime string      `xml:"creationDateTime,attr,omitempty"`
	Codings          []qdeCoding `xml:"Coding"`
}

type qdeCoding struct {
	GUID             string   `xml:"guid,attr"`
	CreatingUser     string   `xml:"creatingUser,attr,omitempty"`
	CreationDateTime string   `xml:"creationDateTime,attr,omitempty"`
	CodeRef          qdeRef   `xml:"CodeRef"`
	NoteRefs         []qdeRef `xml:"NoteRef,omitempty"`
}

type qdeVarValue struct {
	VariableRef qdeRef `xml:"VariableRef"`
	TextValue   string `xml:"TextValue"`
}

type qdeSet struct {
	GUID        string   `xml:"guid,attr"`
	Name        string   `xml:"name,attr"`
	Description string   `xml:"Description,omitempty"`
	MemberCodes []qdeRef `xml:"MemberCode"`
}

func xmlTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Validate checks a project before export; errors name the source and coding.
func (p *Project) Validate() error {
	var errs []error
	if strings.TrimSpace(p.Name) == "" {
		errs = append(errs, errors.New("project name: empty"))
	}
	if p.Codebook == nil {
		return errors.Join(append(errs, errors.New("project codebook: missing"))...)
	}
	users := map[string]bool{}
	for i, u := range p.Users {
		if u.ID == "" {
			errs = append(errs, fmt.Errorf("users[%d].id: empty", i))
		}
		if users[u.ID] {
			errs = append(errs, fmt.Errorf("users[%d].id: %q repeats", i, u.ID))
		}
		users[u.ID] = true
	}
	if p.CreatedBy != "" && !users[p.CreatedBy] {
		errs = append(errs, fmt.Errorf("project created_by: %q is not a user", p.CreatedBy))
	}
	ids := map[string]bool{}
	for i, s := range p.Sources {
		f := fmt.Sprintf("sources[%d] (%s)", i, s.ID)
		if s.ID == "" {
			errs = append(errs, fmt.Errorf("sources[%d].id: empty", i))
		}
		if ids[s.ID] {
			errs = append(errs, fmt.Errorf("%s.id: repeats", f))
		}
		ids[s.ID] = true
		if !utf8.ValidString(s.Text) {
			errs = append(errs, fmt.Errorf("%s.text: not UTF-8", f))
		}
		n := utf8.RuneCountInString(s.Text)
		for j, c := range s.Codings {
			cf := fmt.Sprintf("%s.codings[%d]", f, j)
			if _, ok := p.Codebook.Theme(c.Theme); !ok {
				errs = append(errs, fmt.Errorf("%s.theme: %q not in %s", cf, c.Theme, p.Codebook.Version))
			}
			if c.Polarity != Positive && c.Polarity != Negative {
				errs = append(errs, fmt.Errorf("%s.polarity: %q", cf, c.Polarity))
			}
			if c.Coder != "" && !users[c.Coder] {
				errs = append(errs, fmt.Errorf("%s.coder: %q is not a user", cf, c.Coder))
			}
			if c.Start < 0 || c.End < c.Start || c.End > n {
				errs = append(errs, fmt.Errorf("%s: span %d–%d outside the text's %d characters", cf, c.Start, c.End, n))
			}
		}
	}
	return errors.Join(errs...)
}

// WriteQDPX writes the project as a REFI-QDA Project Exchange (.qdpx) zip.
func WriteQDPX(w io.Writer, p *Project) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("qdpx: %w", err)
	}
	cb := p.Codebook
	v := cb.Version
	userGUID := func(id string) string {
		if id == "" {
			return ""
		}
		return GUID("user", id)
	}
	doc := qdeProject{Name: p.Name, Origin: p.Origin, CreatingUserGUID: userGUID(p.CreatedBy), CreationDateTime: xmlTime(p.CreatedAt)}
	var (
		users     []qdeUser
		variables []qdeVariable
		sources   []qdeSource
		notes     []qdeSource
		sets      []qdeSet
	)
	for _, u := range p.Users {
		users = append(users, qdeUser{GUID: userGUID(u.ID), Name: u.Name, ID: u.ID})
	}
	doc.CodeBook = &qdeCodeBook{Codes: cb.qdaCodes()}
	for _, s := range cb.polaritySets() {
		qs := qdeSet{GUID: s.GUID, Name: s.Name, Description: s.Description}
		for _, m := range s.Members {
			qs.MemberCodes = append(qs.MemberCodes, qdeRef{Target: m.GUID})
		}
		sets = append(sets, qs)
	}
	// Variables: the union of names over sources, in first-seen order.
	varGUID := map[string]string{}
	for _, s := range p.Sources {
		for _, vv := range s.Variables {
			if _, ok := varGUID[vv.Name]; !ok {
				varGUID[vv.Name] = GUID("variable", p.Name, vv.Name)
				variables = append(variables, qdeVariable{GUID: varGUID[vv.Name], Name: vv.Name, Type: "Text"})
			}
		}
	}
	addNote := func(key string, n Note) qdeRef {
		g := GUID("note", p.Name, key)
		text := n.Text
		notes = append(notes, qdeSource{GUID: g, Name: n.Title, CreatingUser: userGUID(n.Author),
			CreationDateTime: xmlTime(n.At), PlainTextContent: &text})
		return qdeRef{Target: g}
	}
	files := map[string]string{}
	for i, s := range p.Sources {
		sg := GUID("source", p.Name, s.ID)
		path := sg + ".txt"
		files[path] = s.Text
		qs := qdeSource{GUID: sg, Name: s.ID, PlainTextPath: "internal://" + path, CreationDateTime: xmlTime(s.CreatedAt)}
		n := utf8.RuneCountInString(s.Text)
		// One selection per span, holding every coding on that span.
		sel := map[[2]int]*qdeSelection{}
		var order [][2]int
		for j, c := range s.Codings {
			span := [2]int{c.Start, c.End}
			if c.Start == 0 && c.End == 0 {
				span = [2]int{0, n}
			}
			qsel, ok := sel[span]
			if !ok {
				qsel = &qdeSelection{GUID: GUID("selection", p.Name, s.ID, fmt.Sprint(span[0]), fmt.Sprint(span[1])),
					Name: selectionName(s.Text, span), Start: span[0], End: span[1],
					CreatingUser: userGUID(c.Coder), CreationDateTime: xmlTime(c.At)}
				sel[span] = qsel
				order = append(order, span)
			}
			qc := qdeCoding{GUID: GUID("coding", p.Name, s.ID, fmt.Sprint(j)), CreatingUser: userGUID(c.Coder),
				CreationDateTime: xmlTime(c.At), CodeRef: qdeRef{Target: ThemeGUID(v, c.Theme, c.Polarity)}}
			if c.Note != "" {
				qc.NoteRefs = append(qc.NoteRefs, addNote(fmt.Sprintf("source %d coding %d", i, j),
					Note{Title: "Coding note: " + s.ID, Text: c.Note, Author: c.Coder, At: c.At}))
			}
			qsel.Codings = append(qsel.Codings, qc)
		}
		for _, span := range order {
			qs.Selections = append(qs.Selections, *sel[span])
		}
		for j, nt := range s.Notes {
			qs.NoteRefs = append(qs.NoteRefs, addNote(fmt.Sprintf("source %d note %d", i, j), nt))
		}
		for _, vv := range s.Variables {
			qs.VariableValues = append(qs.VariableValues, qdeVarValue{VariableRef: qdeRef{Target: varGUID[vv.Name]}, TextValue: vv.Value})
		}
		sources = append(sources, qs)
	}
	for j, nt := range p.Notes {
		doc.NoteRefs = append(doc.NoteRefs, addNote(fmt.Sprintf("project note %d", j), nt))
	}
	if len(users) > 0 {
		doc.Users = &qdeUsers{users}
	}
	if len(variables) > 0 {
		doc.Variables = &qdeVariables{variables}
	}
	if len(sources) > 0 {
		doc.Sources = &qdeSources{sources}
	}
	if len(notes) > 0 {
		doc.Notes = &qdeNotes{notes}
	}
	if len(sets) > 0 {
		doc.Sets = &qdeSets{sets}
	}
	doc.Description = fmt.Sprintf("Coded with codebook %s. Comment texts are redacted of personal data.", v)

	var qde bytes.Buffer
	if err := writeXML(&qde, doc); err != nil {
		return fmt.Errorf("qdpx: project.qde: %w", err)
	}
	zw := zip.NewWriter(w)
	put := func(name string, data []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: p.CreatedAt.UTC()})
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		return err
	}
	if err := put("project.qde", qde.Bytes()); err != nil {
		return fmt.Errorf("qdpx: %w", err)
	}
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := put("sources/"+k, []byte(files[k])); err != nil {
			return fmt.Errorf("qdpx: %w", err)
		}
	}
	return zw.Close()
}

// selectionName is the first words of the selected text, as QDA programs show it.
func selectionName(text string, span [2]int) string {
	r := []rune(text)[span[0]:span[1]]
	if len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return string(r)
}

// ReadQDPX reads a .qdpx written by WriteQDPX (or by QDA software, for the parts it
// shares: users, TextSources with their text, and codings of this codebook's codes).
// cb is the codebook the codes belong to; a coding of another code is an error.
func ReadQDPX(r io.ReaderAt, size int64, cb *Codebook) (*Project, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("qdpx: %w", err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	read := func(name string) ([]byte, error) {
		f, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("qdpx: %s missing from the zip", name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	data, err := read("project.qde")
	if err != nil {
		return nil, err
	}
	var doc qdeProject
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("qdpx: project.qde: %w", err)
	}
	if doc.XMLName.Space != qdeNamespace {
		return nil, fmt.Errorf("qdpx: project.qde root namespace %q, want %q", doc.XMLName.Space, qdeNamespace)
	}
	p := &Project{Name: doc.Name, Origin: doc.Origin, Codebook: cb}
	if doc.CreationDateTime != "" {
		if p.CreatedAt, err = time.Parse(time.RFC3339, doc.CreationDateTime); err != nil {
			return nil, fmt.Errorf("qdpx: Project creationDateTime: %w", err)
		}
	}
	userByGUID := map[string]string{}
	if doc.Users == nil {
		doc.Users = &qdeUsers{}
	}
	if doc.Variables == nil {
		doc.Variables = &qdeVariables{}
	}
	if doc.Notes == nil {
		doc.Notes = &qdeNotes{}
	}
	if doc.Sources == nil {
		doc.Sources = &qdeSources{}
	}
	for _, u := range doc.Users.User {
		id := u.ID
		if id == "" {
			id = u.GUID
		}
		userByGUID[strings.ToLower(u.GUID)] = id
		p.Users = append(p.Users, User{ID: id, Name: u.Name})
	}
	p.CreatedBy = userByGUID[strings.ToLower(doc.CreatingUserGUID)]
	codeByGUID := map[string]ThemeCode{}
	for _, t := range cb.Themes {
		for _, pol := range []Polarity{Positive, Negative} {
			codeByGUID[ThemeGUID(cb.Version, t.ID, pol)] = ThemeCode{Theme: t.ID, Polarity: pol}
		}
	}
	varByGUID := map[string]string{}
	for _, v := range doc.Variables.Variable {
		varByGUID[strings.ToLower(v.GUID)] = v.Name
	}
	noteByGUID := map[string]qdeSource{}
	for _, n := range doc.Notes.Note {
		noteByGUID[strings.ToLower(n.GUID)] = n
	}
	noteOf := func(ref qdeRef) (Note, error) {
		n, ok := noteByGUID[strings.ToLower(ref.Target)]
		if !ok {
			return Note{}, fmt.Errorf("note %s not in Notes", ref.Target)
		}
		at, _ := time.Parse(time.RFC3339, n.CreationDateTime)
		text := ""
		if n.PlainTextContent != nil {
			text = *n.PlainTextContent
		}
		return Note{Title: n.Name, Text: text, Author: userByGUID[strings.ToLower(n.CreatingUser)], At: at}, nil
	}
	for i, s := range doc.Sources.TextSource {
		f := fmt.Sprintf("qdpx: Sources/TextSource[%d] %q", i+1, s.Name)
		var text []byte
		switch {
		case s.PlainTextContent != nil:
			text = []byte(*s.PlainTextContent)
		case strings.HasPrefix(s.PlainTextPath, "internal://"):
			if text, err = read("sources/" + strings.TrimPrefix(s.PlainTextPath, "internal://")); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
		default:
			return nil, fmt.Errorf("%s: no plain text (plainTextPath %q)", f, s.PlainTextPath)
		}
		src := Source{ID: s.Name, Text: string(text)}
		src.CreatedAt, _ = time.Parse(time.RFC3339, s.CreationDateTime)
		n := utf8.RuneCount(text)
		for _, sel := range s.Selections {
			for _, c := range sel.Codings {
				tc, ok := codeByGUID[strings.ToLower(c.CodeRef.Target)]
				if !ok {
					return nil, fmt.Errorf("%s: coding %s: code %s is not a theme-and-polarity code of %s", f, c.GUID, c.CodeRef.Target, cb.Version)
				}
				sc := SourceCoding{Theme: tc.Theme, Polarity: tc.Polarity, Coder: userByGUID[strings.ToLower(c.CreatingUser)], Start: sel.Start, End: sel.End}
				if sel.Start == 0 && sel.End == n {
					sc.Start, sc.End = 0, 0
				}
				sc.At, _ = time.Parse(time.RFC3339, c.CreationDateTime)
				for _, ref := range c.NoteRefs {
					nt, err := noteOf(ref)
					if err != nil {
						return nil, fmt.Errorf("%s: coding %s: %w", f, c.GUID, err)
					}
					sc.Note = nt.Text
				}
				src.Codings = append(src.Codings, sc)
			}
		}
		for _, ref := range s.NoteRefs {
			nt, err := noteOf(ref)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			src.Notes = append(src.Notes, nt)
		}
		for _, vv := range s.VariableValues {
			src.Variables = append(src.Variables, Variable{Name: varByGUID[strings.ToLower(vv.VariableRef.Target)], Value: vv.TextValue})
		}
		p.Sources = append(p.Sources, src)
	}
	for _, ref := range doc.NoteRefs {
		nt, err := noteOf(ref)
		if err != nil {
			return nil, fmt.Errorf("qdpx: Project NoteRef: %w", err)
		}
		p.Notes = append(p.Notes, nt)
	}
	return p, nil
}

// ProjectFromCodings builds a project from people's codings of redacted comments:
// one source per response (codings of one response must share its text), one coding
// per theme per coder over the whole text, the coders as users, and each response's
// variables if given. Sources are in response id order; the first coder named is the
// project's creator.
func ProjectFromCodings(name string, cb *Codebook, at time.Time, codings []Coding, variables map[string][]Variable) (*Project, error) {
	p := &Project{Name: name, Origin: "icesurvey", CreatedAt: at, Codebook: cb}
	byID := map[string]*Source{}
	users := map[string]bool{}
	for i, c := range codings {
		if c.ResponseID == "" {
			return nil, fmt.Errorf("coding %d: response_id empty", i)
		}
		if c.CodebookVersion != "" && c.CodebookVersion != cb.Version {
			return nil, fmt.Errorf("coding %d (response %s): codebook_version %q, project uses %q", i, c.ResponseID, c.CodebookVersion, cb.Version)
		}
		s, ok := byID[c.ResponseID]
		if !ok {
			s = &Source{ID: c.ResponseID, Text: c.Text, CreatedAt: at, Variables: variables[c.ResponseID]}
			byID[c.ResponseID] = s
		} else if s.Text != c.Text {
			return nil, fmt.Errorf("coding %d (response %s): text differs from an earlier coding of the same response", i, c.ResponseID)
		}
		if c.Coder != "" && !users[c.Coder] {
			users[c.Coder] = true
			p.Users = append(p.Users, User{ID: c.Coder, Name: c.Coder})
			if p.CreatedBy == "" {
				p.CreatedBy = c.Coder
			}
		}
		for _, t := range c.Themes {
			s.Codings = append(s.Codings, SourceCoding{Theme: t.Theme, Polarity: t.Polarity, Coder: c.Coder, At: c.CodedAt})
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p.Sources = append(p.Sources, *byID[id])
	}
	return p, p.Validate()
}
