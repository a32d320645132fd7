package schemas

import (
	"strings"
	"testing"
)

func TestPublishLayoutsAndKeys(t *testing.T) {
	for _, l := range []*Layout{PublishedResultLayout(), PublishedDistributionLayout(), PublishedResponseRateLayout(), PublishedReleaseLayout()} {
		if len(l.KeyNames()) == 0 {
			t.Errorf("%s has no key: the warehouse could not upsert it", l.Name)
		}
		if !strings.Contains(l.DDL(l.Name), "PRIMARY KEY") {
			t.Errorf("%s: DDL has no primary key", l.Name)
		}
		if c, ok := l.Column("release_id"); !ok || !c.Key {
			t.Errorf("%s: release_id is not a key column", l.Name)
		}
	}
	prefix := PublishPrefix("W1", "r1")
	if prefix != "publish/W1/r1/" {
		t.Errorf("prefix %q", prefix)
	}
	seen := map[string]bool{}
	for _, k := range []string{PublishResultsParquetKey("W1", "r1"), PublishDistributionsParquetKey("W1", "r1"),
		PublishResponseRatesParquetKey("W1", "r1"), PublishReleaseParquetKey("W1", "r1"), PublishResultsCSVKey("W1", "r1"),
		PublishDistributionsCSVKey("W1", "r1"), PublishResponseRatesCSVKey("W1", "r1"), PublishWorkbookKey("W1", "r1"),
		PublishMetadataKey("W1", "r1"), PublishManifestKey("W1", "r1")} {
		if !strings.HasPrefix(k, prefix) || seen[k] {
			t.Errorf("key %q is outside the release or repeated", k)
		}
		seen[k] = true
	}
}
