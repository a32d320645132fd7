package profiles

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"icesurvey/freetext"
	"icesurvey/internal/yamldefs"
	"icesurvey/themes"
)

// Synthetic focus-group and interview notes for a profile (`ice synth sessions`):
// deterministic for a seed, each participant's contribution carrying each theme at a
// stated rate (with a stated share praising rather than complaining), and some
// contributions holding personal data — names, phone and NHS numbers, streets and
// postcodes — for the redactor to remove. The notes are raw: they belong in the
// free-text area and are read only through freetext.

// DefaultThemeRates is the chance that one contribution carries each theme.
var DefaultThemeRates = map[string]float64{
	"communication": 0.30, "information": 0.20, "continuity": 0.30,
	"involvement": 0.25, "holistic": 0.20, "burden": 0.20,
}

// SessionSpec asks for one synthetic session.
type SessionSpec struct {
	Profile          *Profile
	SessionID        string    // e.g. "fg-2026-05-a"
	Method           string    // MethodFocusGroup (default) or MethodInterview
	Participants     int       // default 6 for a focus group; 1 for an interview
	Date             time.Time // the session's date
	Seed             uint64
	Contributions    int                // participant contributions; default 40 (group) or 20 (interview)
	ThemeRates       map[string]float64 // default DefaultThemeRates
	PositiveShare    float64            // share of themed contributions that praise; default 0.25
	PersonalDataRate float64            // share of contributions with personal data; default 0.15
}

// NoteLine is one line of the notes with what the generator put in it (the truth a
// test or the demo can compare coding and redaction with).
type NoteLine struct {
	Speaker      string             // "Facilitator" or "P1" …
	Text         string             // as written in the notes, personal data included
	Themes       []themes.ThemeCode // empty for the facilitator and for lines with no theme
	PersonalData []PersonalDatum
}

// PersonalDatum is one piece of personal data written into a line.
type PersonalDatum struct {
	Kind  freetext.Kind
	Value string
}

// SessionNotes is a generated session: its record for the profile and its notes.
type SessionNotes struct {
	Session Session
	Text    string
	Lines   []NoteLine
}

// TranscriptKey is where a session's notes go, relative to the free-text area.
func TranscriptKey(profileID, sessionID string) string {
	return "sessions/" + profileID + "/" + sessionID + ".txt"
}

// SessionRecordKey is where a session's record (its Session: method, date,
// participants, consent, as YAML) is kept beside its notes, relative to the free-text
// area, for a session the profile's definition does not list yet: `ice synth sessions`
// writes it, and the profile report shows what it records.
func SessionRecordKey(profileID, sessionID string) string {
	return "sessions/" + profileID + "/" + sessionID + ".session.yaml"
}

// ParseSessionRecord reads a session record (SessionRecordKey); unknown fields are
// errors.
func ParseSessionRecord(data []byte) (Session, error) {
	var s Session
	if err := yamldefs.DecodeStrict(data, &s); err != nil {
		return s, err
	}
	return s, nil
}

// SynthSession writes the notes of one session. The same spec gives the same notes.
func SynthSession(spec SessionSpec) (SessionNotes, error) {
	if spec.Profile == nil {
		return SessionNotes{}, fmt.Errorf("synth session: no profile")
	}
	if !reID.MatchString(spec.SessionID) {
		return SessionNotes{}, fmt.Errorf("synth session %q: session id: want lower-case letters, digits and hyphens", spec.SessionID)
	}
	if spec.Date.IsZero() {
		return SessionNotes{}, fmt.Errorf("synth session %s: date missing", spec.SessionID)
	}
	if spec.Method == "" {
		spec.Method = MethodFocusGroup
	}
	switch spec.Method {
	case MethodFocusGroup:
		if spec.Participants == 0 {
			spec.Participants = 6
		}
		if spec.Contributions == 0 {
			spec.Contributions = 40
		}
	case MethodInterview:
		if spec.Participants == 0 {
			spec.Participants = 1
		}
		if spec.Contributions == 0 {
			spec.Contributions = 20
		}
	default:
		return SessionNotes{}, fmt.Errorf("synth session %s: method %q, want focus_group or interview", spec.SessionID, spec.Method)
	}
	rates := spec.ThemeRates
	if rates == nil {
		rates = DefaultThemeRates
	}
	cb := themes.Default()
	for id, r := range rates {
		if _, ok := cb.Theme(id); !ok {
			return SessionNotes{}, fmt.Errorf("synth session %s: theme_rates: no theme %q", spec.SessionID, id)
		}
		if r < 0 || r > 1 {
			return SessionNotes{}, fmt.Errorf("synth session %s: theme_rates[%s]: %.2f is not a rate", spec.SessionID, id, r)
		}
	}
	if spec.PositiveShare == 0 {
		spec.PositiveShare = 0.25
	}
	if spec.PersonalDataRate == 0 {
		spec.PersonalDataRate = 0.15
	}
	h := fnv.New64a()
	h.Write([]byte(spec.Profile.ID + "\x00" + spec.SessionID))
	rng := rand.New(rand.NewPCG(spec.Seed, h.Sum64()))

	ctx := contextFor(spec.Profile.ID)
	g := &gen{rng: rng, ctx: ctx}
	var lines []NoteLine
	questions := topicGuide(spec.Profile)
	perQuestion := max(1, spec.Contributions/len(questions))
	themeIDs := cb.ThemeIDs()
	for n := 0; n < spec.Contributions; n++ {
		if n%perQuestion == 0 {
			q := questions[(n/perQuestion)%len(questions)]
			lines = append(lines, NoteLine{Speaker: "Facilitator", Text: q})
		}
		line := NoteLine{Speaker: fmt.Sprintf("P%d", 1+rng.IntN(spec.Participants))}
		g.say(&line, themeIDs, rates, spec.PositiveShare, spec.PersonalDataRate)
		lines = append(lines, line)
	}
	var b strings.Builder
	method := "Focus group"
	if spec.Method == MethodInterview {
		method = "Interview"
	}
	fmt.Fprintf(&b, "%s notes: %s\nSession %s, %s, %d participant(s). Synthetic notes generated for testing; no real person.\n\n",
		method, spec.Profile.Title, spec.SessionID, spec.Date.Format(time.DateOnly), spec.Participants)
	for _, l := range lines {
		fmt.Fprintf(&b, "%s: %s\n", l.Speaker, l.Text)
	}
	return SessionNotes{
		Session: Session{ID: spec.SessionID, Method: spec.Method, Date: spec.Date.Format(time.DateOnly), Participants: spec.Participants,
			ConsentRecorded: true, TranscriptKey: TranscriptKey(spec.Profile.ID, spec.SessionID), CodebookVersion: cb.Version,
			Facilitator: "local Healthwatch engagement officer", Notes: "synthetic session"},
		Text:  b.String(),
		Lines: lines,
	}, nil
}

// topicGuide turns the profile's expected care into the facilitator's questions.
func topicGuide(p *Profile) []string {
	qs := []string{"Can you tell us about the health and care services you have used recently?"}
	for _, e := range p.ExpectedCare {
		s := strings.TrimSpace(e.Statement)
		if len(s) > 110 {
			s = s[:strings.LastIndex(s[:110], " ")] + " …"
		}
		qs = append(qs, "We would expect that "+lowerFirst(s)+" How has that been for you?")
	}
	return append(qs, "What one thing would make the biggest difference?")
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

type profileContext struct {
	condition string   // "my diabetes"
	teams     []string // services the group uses
}

func contextFor(profileID string) profileContext {
	switch profileID {
	case "young-people-mental-health-transition":
		return profileContext{"my mental health", []string{"CAMHS", "the adult mental health team", "my GP", "the crisis team", "college"}}
	case "south-asian-diabetes":
		return profileContext{"my diabetes", []string{"the diabetes clinic", "my GP", "the eye screening", "the foot clinic", "the kidney clinic"}}
	case "learning-disability-hospital-discharge":
		return profileContext{"his learning disability", []string{"the ward", "the learning disability nurse", "social services", "the GP", "the care agency"}}
	case "black-men-multimorbidity-cancer":
		return profileContext{"the cancer", []string{"the oncology team", "my GP", "the urology clinic", "the heart clinic", "the pharmacy"}}
	case "women-multimorbidity-heart":
		return profileContext{"my heart", []string{"the cardiology clinic", "my GP", "cardiac rehab", "the heart failure nurse", "the diabetes nurse"}}
	}
	return profileContext{"my conditions", []string{"the hospital", "my GP", "the community nurses", "social services", "the pharmacy"}}
}

type gen struct {
	rng *rand.Rand
	ctx profileContext
}

func (g *gen) pick(options []string) string { return options[g.rng.IntN(len(options))] }

func (g *gen) twoTeams() (string, string) {
	i := g.rng.IntN(len(g.ctx.teams))
	j := (i + 1 + g.rng.IntN(len(g.ctx.teams)-1)) % len(g.ctx.teams)
	return g.ctx.teams[i], g.ctx.teams[j]
}

func (g *gen) phrase(theme string, pol themes.Polarity) string {
	a, b := g.twoTeams()
	s := g.pick(themePhrases[theme][pol])
	return strings.NewReplacer("{a}", a, "{b}", b, "{cond}", g.ctx.condition).Replace(s)
}

var themePhrases = map[string]map[themes.Polarity][]string{
	"communication": {
		themes.Negative: {"I had to carry the letter from {a} to {b} myself.", "{a} told me to tell {b}; they never speak to each other.",
			"{a} and {b} kept passing me back and forth.", "Nothing happens unless I ring round {a} and {b}."},
		themes.Positive: {"{a} rang {b} directly, so I didn't have to chase anything.", "For once {a} and {b} worked together and had one plan."},
	},
	"information": {
		themes.Negative: {"When I got to {b} they had no record of what {a} had done.", "{b} didn't know about {cond} even though {a} did.",
			"They didn't have my medication list at {b}."},
		themes.Positive: {"{b} already had everything from {a}, I didn't have to explain."},
	},
	"continuity": {
		themes.Negative: {"I had to tell my whole story again at {b}.", "It's someone different at {a} every time, so we start from scratch.",
			"They repeated the same tests at {b} because they couldn't see the results from {a}."},
		themes.Positive: {"I see the same person at {a} and she knows me well.", "Having one named worker at {a} has made all the difference."},
	},
	"involvement": {
		themes.Negative: {"Nobody asked what I wanted before {a} decided.", "They talked over my head at {a} as if I wasn't there.",
			"We were told, not asked, when {a} changed the plan."},
		themes.Positive: {"{a} listened to me and my family and we decided together.", "They asked what mattered to me before changing anything."},
	},
	"holistic": {
		themes.Negative: {"{a} only looked at {cond}, not at how I manage at home.", "Nobody thought about how I would get to {b} without a car.",
			"They dealt with {cond} but ignored my low mood."},
		themes.Positive: {"{a} looked at the whole of me, my home, my money and my mood.", "They thought about my family and my transport as well as {cond}."},
	},
	"burden": {
		themes.Negative: {"I have separate appointments at {a} and {b} on different days every month.", "Between {a} and {b} it's appointment after appointment.",
			"Too many appointments for each condition, it's exhausting."},
		themes.Positive: {"{a} and {b} now see me on the same day, one trip instead of two.", "The combined clinic at {a} saves me so many journeys."},
	},
}

var neutralPhrases = []string{
	"The staff were kind but the car park was full.", "I waited a long time for the appointment.",
	"The building was clean and easy to find.", "Honestly I can't complain about the nurses.",
	"The food on the ward was cold.", "Getting through on the phone in the morning is hard.",
}

var (
	synthFirst   = []string{"Sarah", "Margaret", "Imran", "Priya", "Winston", "Joan", "Kwame", "Fatima", "Gareth", "Aisha", "Derek", "Bethan"}
	synthSurname = []string{"Patel", "Okafor", "Hughes", "Khan", "Campbell", "Williams", "Begum", "Mensah", "Robinson", "Shah"}
	synthKin     = []string{"daughter", "son", "wife", "husband", "neighbour", "carer"}
	synthStreets = []string{"Elm Road", "Station Road", "Mill Lane", "Orchard Close", "Church Street", "Victoria Avenue"}
	synthAreas   = []string{"EX", "TQ", "PL", "NR", "DE", "LA", "BN", "BS", "SW", "DH"}
)

// personal writes one piece of personal data in a form a participant might use.
func (g *gen) personal() (string, []PersonalDatum) {
	switch g.rng.IntN(6) {
	case 0:
		name := g.pick(synthFirst)
		return fmt.Sprintf("My %s %s came with me.", g.pick(synthKin), name), []PersonalDatum{{freetext.KindName, name}}
	case 1:
		name := g.pick(synthSurname)
		return fmt.Sprintf("Dr %s was the only one who listened.", name), []PersonalDatum{{freetext.KindName, name}}
	case 2:
		phone := fmt.Sprintf("07700 900%03d", g.rng.IntN(1000))
		return fmt.Sprintf("You can ring me on %s.", phone), []PersonalDatum{{freetext.KindPhone, phone}}
	case 3:
		nhs := g.nhsNumber()
		return fmt.Sprintf("My NHS number is %s and they still lost my notes.", nhs), []PersonalDatum{{freetext.KindNHSNumber, nhs}}
	case 4:
		addr := fmt.Sprintf("%d %s", 1+g.rng.IntN(120), g.pick(synthStreets))
		return fmt.Sprintf("The transport went to %s instead of my house.", addr), []PersonalDatum{{freetext.KindAddress, addr}}
	default:
		pc := g.postcode()
		return fmt.Sprintf("Our postcode is %s and the ambulance still got lost.", pc), []PersonalDatum{{freetext.KindPostcode, pc}}
	}
}

// nhsNumber is a random ten-digit number passing Modulus 11, grouped 3-3-4.
func (g *gen) nhsNumber() string {
	for {
		d := make([]int, 10)
		sum := 0
		for i := 0; i < 9; i++ {
			d[i] = g.rng.IntN(10)
			if i == 0 {
				d[i] = 4 + g.rng.IntN(5)
			}
			sum += d[i] * (10 - i)
		}
		check := 11 - sum%11
		if check == 10 {
			continue
		}
		if check == 11 {
			check = 0
		}
		d[9] = check
		var s strings.Builder
		for i, x := range d {
			if i == 3 || i == 6 {
				s.WriteByte(' ')
			}
			s.WriteByte(byte('0' + x))
		}
		return s.String()
	}
}

func (g *gen) postcode() string {
	letters := "ABDEFGHJLNPQRSTUWXYZ" // letters allowed in the inward code
	return fmt.Sprintf("%s%d %d%c%c", g.pick(synthAreas), 1+g.rng.IntN(20), g.rng.IntN(10),
		letters[g.rng.IntN(len(letters))], letters[g.rng.IntN(len(letters))])
}

// ThemeCounts counts the themes the generator put into the notes, by theme id.
func (n SessionNotes) ThemeCounts() map[string]int {
	out := map[string]int{}
	for _, l := range n.Lines {
		for _, t := range l.Themes {
			out[t.Theme]++
		}
	}
	return out
}

// Contributions counts the participants' lines.
func (n SessionNotes) Contributions() int {
	c := 0
	for _, l := range n.Lines {
		if l.Speaker != "Facilitator" {
			c++
		}
	}
	return c
}

// sortedThemeIDs is for stable test output.
func sortedThemeIDs(m map[string]int) []string {
	var ids []string
	for k := range m {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	return ids
}
