package intake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"icesurvey/store"
)

// changingStore serves a replacement for one object from its second Get on: the
// object changes between the passes of an intake.
type changingStore struct {
	store.Store
	key  string
	then []byte
	mu   sync.Mutex
	gets int
}

func (s *changingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == s.key {
		s.mu.Lock()
		s.gets++
		n := s.gets
		s.mu.Unlock()
		if n > 1 {
			return io.NopCloser(bytes.NewReader(s.then)), nil
		}
	}
	return s.Store.Get(ctx, key)
}

// TestInputChangedBetweenPasses replaces a file after its first pass, keeping its size
// and rows, or not, and requires the intake to notice on its later pass and store
// nothing.
func TestInputChangedBetweenPasses(t *testing.T) {
	s, m := goodRows(50)
	sampleText := csvText(sampleHeader, s)
	mailingText := csvText(mailingHeader, m)
	cases := []struct {
		name, key, text, then string
	}{
		// Same bytes, same rows, one letter of a name changed: only the checksum tells.
		{"mailing same size", mailingKey, mailingText, strings.Replace(mailingText, "Surname17", "Surnamf17", 1)},
		// A practice code changed: the record stays valid, the join unchanged.
		{"sample same size", sampleKey, sampleText, strings.Replace(sampleText, ",D82002,", ",D82004,", 1)},
		{"mailing row added", mailingKey, mailingText, mailingText + csvText(mailingHeader, []row{goodMailing(50)})[len(strings.Join(mailingHeader, ","))+1:]},
		{"sample row removed", sampleKey, sampleText, sampleText[:strings.LastIndex(strings.TrimSuffix(sampleText, "\n"), "\n")+1]},
		{"mailing row removed", mailingKey, mailingText, mailingText[:strings.LastIndex(strings.TrimSuffix(mailingText, "\n"), "\n")+1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.then == c.text {
				t.Fatal("the replacement is the same text")
			}
			fs := newStore(t)
			put(t, fs, sampleKey, sampleText)
			put(t, fs, mailingKey, mailingText)
			st := &changingStore{Store: fs, key: c.key, then: []byte(c.then)}
			_, err := Run(context.Background(), st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey})
			if !errors.Is(err, ErrInputChanged) {
				t.Fatalf("err = %v, want ErrInputChanged", err)
			}
			if st.gets < 2 {
				t.Fatalf("%s read %d times: the change was not on a later pass", c.key, st.gets)
			}
			if _, err := fs.Stat(context.Background(), reportKey); !errors.Is(err, store.ErrNotExist) {
				t.Errorf("a report was stored (%v)", err)
			}
		})
	}
	// The same store without a change is fine.
	fs := newStore(t)
	put(t, fs, sampleKey, sampleText)
	put(t, fs, mailingKey, mailingText)
	st := &changingStore{Store: fs, key: mailingKey, then: []byte(mailingText)}
	if _, err := Run(context.Background(), st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey}); err != nil {
		t.Fatal(err)
	}
}
