package publication

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"icesurvey/internal/parallel"
	"regexp"
	"slices"
	"strings"
	"sync"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Manifest lists a release's files with their SHA-256, and what the release holds.
type Manifest struct {
	ReleaseID string  `json:"release_id"`
	WaveID    string  `json:"wave_id"`
	Prefix    string  `json:"prefix"`
	Files     []File  `json:"files"`
	Summary   Summary `json:"summary"`
	// ManifestKey and ManifestSHA256 name manifest.json itself (not in Files).
	ManifestKey    string `json:"-"`
	ManifestSHA256 string `json:"-"`
}

// File is one file of a release.
type File struct {
	Key  string `json:"key"`
	Kind string `json:"kind"` // parquet, csv, xlsx or json
	// Table is the warehouse table a Parquet file loads into.
	Table  schemas.Table `json:"table,omitempty"`
	Rows   int           `json:"rows,omitempty"`
	Bytes  int64         `json:"bytes"`
	SHA256 string        `json:"sha256"`
}

// WarehouseObjects lists the Parquet objects to load into the warehouse's published_*
// and releases tables (with the warehouse load activity, as lake objects).
func (m Manifest) WarehouseObjects() []schemas.LakeObject {
	var out []schemas.LakeObject
	for _, f := range m.Files {
		if f.Table != "" {
			out = append(out, schemas.LakeObject{Table: f.Table, Key: f.Key})
		}
	}
	return out
}

var releaseIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidReleaseID reports whether id can name a release: 1–64 letters, digits, '.', '_'
// or '-', starting with a letter or digit (it is a path segment of every key).
func ValidReleaseID(id string) error {
	if !releaseIDPattern.MatchString(id) || strings.Contains(id, "..") {
		return fmt.Errorf("publication: release id %q: want 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

// output is one file's bytes.
type output struct {
	key, kind string
	table     schemas.Table
	rows      int
	data      []byte
}

// Write writes the release releaseID of r's wave to st as a draft, under
// drafts/{wave}/{release}/ (schemas.DraftPrefix), never under publish/, which the
// public reads: CSV and XLSX for people, Parquet for machines, metadata.json and
// manifest.json. Approval copies it to publish/{wave}/{release}/ (Publish). It
// writes only what r holds, and r holds only figures that passed disclosure control
// (Results is made only by Compute); the counts behind the weighting, which would
// give what the suppression withholds, go to the release's internal weighting report
// in reports/ (ReadWeighting), and the lake objects each table was computed from,
// which metadata.json gives only as a digest, to its internal lineage in the lake (ReadLineageReport). The same Results and release id give
// byte-identical files, so a retried Write changes nothing.
func Write(ctx context.Context, st store.Store, r *Results, releaseID string) (Manifest, error) {
	if r == nil || !r.sealed {
		return Manifest{}, errors.New("publication: write: the results were not made by Compute")
	}
	if err := ValidReleaseID(releaseID); err != nil {
		return Manifest{}, err
	}
	if err := ValidReleaseID(r.wave); err != nil {
		return Manifest{}, fmt.Errorf("publication: wave id %q cannot name a key: %w", r.wave, err)
	}
	wave := r.wave
	// draft is where the draft keeps the file key names once published.
	draft := func(key func(wave, release string) string) string { return schemas.DraftKey(key(wave, releaseID)) }
	meta := metadataOf(r, releaseID)
	// Each table's lineage is published as a digest only; the objects it names (a late
	// opt-out's is one person's) go to the internal lineage in the lake.
	lineage := map[string]LineageDigest{}
	for _, l := range r.lineage {
		lineage[l.Table] = LineageDigest{From: slices.Clone(lineageTables), ObjectsSHA256: l.ObjectsSHA256}
	}
	meta.Tables = []TableMeta{
		{Table: "results", Rows: len(r.results), Lineage: lineage["results"], Files: []string{draft(schemas.PublishResultsParquetKey),
			draft(schemas.PublishResultsCSVKey), draft(schemas.PublishWorkbookKey) + "#Results"}},
		{Table: "distributions", Rows: len(r.dists), Lineage: lineage["distributions"], Files: []string{draft(schemas.PublishDistributionsParquetKey),
			draft(schemas.PublishDistributionsCSVKey), draft(schemas.PublishWorkbookKey) + "#Distributions"}},
		{Table: "response_rates", Rows: len(r.rates), Lineage: lineage["response_rates"], Files: []string{draft(schemas.PublishResponseRatesParquetKey),
			draft(schemas.PublishResponseRatesCSVKey), draft(schemas.PublishWorkbookKey) + "#Response rates"}},
	}

	// Every file is built in memory from r alone, side by side: each one's bytes depend
	// only on its content, never on the schedule.
	makers := []func() (output, error){
		func() (output, error) {
			b, err := resultsParquet(r, releaseID)
			return output{draft(schemas.PublishResultsParquetKey), "parquet", schemas.TablePublishedResults, len(r.results), b}, err
		},
		func() (output, error) {
			b, err := distributionsParquet(r, releaseID)
			return output{draft(schemas.PublishDistributionsParquetKey), "parquet", schemas.TablePublishedDistributions, len(r.dists), b}, err
		},
		func() (output, error) {
			b, err := ratesParquet(r, releaseID)
			return output{draft(schemas.PublishResponseRatesParquetKey), "parquet", schemas.TablePublishedResponseRates, len(r.rates), b}, err
		},
		func() (output, error) {
			b, err := resultsCSV(r)
			return output{draft(schemas.PublishResultsCSVKey), "csv", "", len(r.results), b}, err
		},
		func() (output, error) {
			b, err := distributionsCSV(r)
			return output{draft(schemas.PublishDistributionsCSVKey), "csv", "", len(r.dists), b}, err
		},
		func() (output, error) {
			b, err := ratesCSV(r)
			return output{draft(schemas.PublishResponseRatesCSVKey), "csv", "", len(r.rates), b}, err
		},
		func() (output, error) {
			b, err := workbook(r, meta)
			return output{draft(schemas.PublishWorkbookKey), "xlsx", "", 0, b}, err
		},
	}
	statusFiles, err := statusOutputs(meta, schemas.DraftKey)
	if err != nil {
		return Manifest{}, err
	}
	for _, o := range statusFiles {
		makers = append(makers, func() (output, error) { return o, nil })
	}
	// Each file is stored as soon as it is made, while the others are being made: a
	// store's Put waits on the disk (a file store syncs every object).
	files := make([]File, len(makers))
	putErrs := make([]error, len(makers))
	var puts sync.WaitGroup
	// Longest first (the workbook, then the distributions), so the last to finish
	// is a short one; files keep their order in the manifest.
	order := []int{6, 4, 1, 3, 0, 2, 5, 7, 8}
	err = parallel.Indexed(len(makers), func(n int) error {
		i := order[n]
		o, err := makers[i]()
		if err != nil {
			return err
		}
		puts.Add(1)
		go func() {
			defer puts.Done()
			files[i], putErrs[i] = put(ctx, st, o)
		}()
		return nil
	})
	puts.Wait()
	if err := errors.Join(append([]error{err}, putErrs...)...); err != nil {
		return Manifest{}, fmt.Errorf("publication: write release %s of wave %s: %w", releaseID, wave, err)
	}
	// The counts behind the weighting stay out of the release, in reports/.
	if err := putJSON(ctx, st, schemas.PublicationWeightingKey(wave, releaseID), "the weighting report of release "+releaseID, weightingOf(r, releaseID)); err != nil {
		return Manifest{}, err
	}
	// The lake objects each table was read from stay out of the release, in the lake.
	if err := putLineage(ctx, st, LineageReport{ReleaseID: releaseID, WaveID: wave, Tables: r.lineage}); err != nil {
		return Manifest{}, err
	}
	m := Manifest{ReleaseID: releaseID, WaveID: wave, Prefix: schemas.DraftPrefix(wave, releaseID), Summary: meta.Summary(), Files: files}
	if err := writeManifest(ctx, st, &m, draft(schemas.PublishManifestKey)); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// statusOutputs are the files that change when the release's status does:
// metadata.json and release.parquet (which carries metadata.json's SHA-256), at the
// keys at gives for their Publish*Key (DraftKey for a draft).
func statusOutputs(meta *Metadata, at func(string) string) ([]output, error) {
	mj, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("publication: encode the metadata of release %s: %w", meta.ReleaseID, err)
	}
	mj = append(mj, '\n')
	sum := sha256.Sum256(mj)
	rec, err := releaseParquet(meta, hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, err
	}
	return []output{
		{at(schemas.PublishMetadataKey(meta.WaveID, meta.ReleaseID)), "json", "", 0, mj},
		{at(schemas.PublishReleaseParquetKey(meta.WaveID, meta.ReleaseID)), "parquet", schemas.TableReleases, 1, rec},
	}, nil
}

// published is the identity: a published release's files are at their Publish*Key.
func published(key string) string { return key }

func put(ctx context.Context, st store.Store, o output) (File, error) {
	if err := store.PutBytes(ctx, st, o.key, o.data); err != nil {
		return File{}, fmt.Errorf("publication: store %s: %w", o.key, err)
	}
	sum := sha256.Sum256(o.data)
	return File{Key: o.key, Kind: o.kind, Table: o.table, Rows: o.rows, Bytes: int64(len(o.data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// writeManifest stores m at key.
func writeManifest(ctx context.Context, st store.Store, m *Manifest, key string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("publication: encode the manifest of release %s: %w", m.ReleaseID, err)
	}
	b = append(b, '\n')
	m.ManifestKey = key
	if err := store.PutBytes(ctx, st, m.ManifestKey, b); err != nil {
		return fmt.Errorf("publication: store %s: %w", m.ManifestKey, err)
	}
	sum := sha256.Sum256(b)
	m.ManifestSHA256 = hex.EncodeToString(sum[:])
	return nil
}

// ReadMetadata reads the metadata of a release under publish/: an approved release's
// (or a draft written there before drafts moved to drafts/).
func ReadMetadata(ctx context.Context, st store.Store, wave, releaseID string) (*Metadata, error) {
	return readMetadata(ctx, st, schemas.PublishMetadataKey(wave, releaseID))
}

// ReadDraftMetadata reads the metadata of a release's draft, under drafts/.
func ReadDraftMetadata(ctx context.Context, st store.Store, wave, releaseID string) (*Metadata, error) {
	return readMetadata(ctx, st, schemas.DraftKey(schemas.PublishMetadataKey(wave, releaseID)))
}

func readMetadata(ctx context.Context, st store.Store, key string) (*Metadata, error) {
	return readJSON[Metadata](ctx, st, key)
}

// readJSON reads the JSON object at key.
func readJSON[T any](ctx context.Context, st store.Store, key string) (*T, error) {
	b, err := store.ReadAll(ctx, st, key)
	if err != nil {
		return nil, fmt.Errorf("publication: read %s: %w", key, err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("publication: %s: %w", key, err)
	}
	return &v, nil
}

// putJSON stores v at key as indented JSON; what names it in an error.
func putJSON(ctx context.Context, st store.Store, key, what string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("publication: encode %s: %w", what, err)
	}
	if err := store.PutBytes(ctx, st, key, append(b, '\n')); err != nil {
		return fmt.Errorf("publication: store %s: %w", key, err)
	}
	return nil
}

// ReadWeighting reads a release's internal weighting report (WeightingReport).
func ReadWeighting(ctx context.Context, st store.Store, wave, releaseID string) (*WeightingReport, error) {
	return readJSON[WeightingReport](ctx, st, schemas.PublicationWeightingKey(wave, releaseID))
}

// ReadLineageReport reads a release's internal lineage (LineageReport).
func ReadLineageReport(ctx context.Context, st store.Store, wave, releaseID string) (*LineageReport, error) {
	return readJSON[LineageReport](ctx, st, schemas.PublicationLineageKey(wave, releaseID))
}

// ReadManifest reads the manifest of a release under publish/: an approved
// release's, written last when it was published (or a draft's written there before
// drafts moved to drafts/).
func ReadManifest(ctx context.Context, st store.Store, wave, releaseID string) (Manifest, error) {
	return readManifest(ctx, st, schemas.PublishManifestKey(wave, releaseID))
}

// ReadDraftManifest reads the manifest of a release's draft, under drafts/.
func ReadDraftManifest(ctx context.Context, st store.Store, wave, releaseID string) (Manifest, error) {
	return readManifest(ctx, st, schemas.DraftKey(schemas.PublishManifestKey(wave, releaseID)))
}

// ReadCurrentManifest reads the manifest of a release as it stands: the published
// one once approved, else its draft's, else a draft written under publish/ before
// drafts moved to drafts/.
func ReadCurrentManifest(ctx context.Context, st store.Store, wave, releaseID string) (Manifest, error) {
	pub, err := ReadManifest(ctx, st, wave, releaseID)
	switch {
	case err == nil && pub.Summary.Status == ReleasePublished:
		return pub, nil
	case err != nil && !errors.Is(err, store.ErrNotExist):
		return Manifest{}, err
	}
	d, derr := ReadDraftManifest(ctx, st, wave, releaseID)
	if errors.Is(derr, store.ErrNotExist) && err == nil {
		return pub, nil
	}
	return d, derr
}

func readManifest(ctx context.Context, st store.Store, key string) (Manifest, error) {
	b, err := store.ReadAll(ctx, st, key)
	if err != nil {
		return Manifest{}, fmt.Errorf("publication: read %s: %w", key, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("publication: %s: %w", key, err)
	}
	sum := sha256.Sum256(b)
	m.ManifestKey, m.ManifestSHA256 = key, hex.EncodeToString(sum[:])
	return m, nil
}

// Publish publishes an approved release (meta, its draft's metadata once Approve has
// marked it published): it copies every file of the draft but its status to
// publish/{wave}/{release}/ unchanged, each checked against the SHA-256 the draft's
// manifest gives it, so the published manifest's SHA-256s are the draft's; then it
// writes release.parquet and metadata.json there with the approval (metadata.json
// naming the published files), and manifest.json last. A reader of publish/ finds a
// release's manifest only once every file it lists is there; a draft never approved
// is never copied. Publish again with the same approval writes the same bytes, so an
// approval retried after a crash part-way through finishes the job.
//
// A release drafted before drafts moved to drafts/ has no draft there: its files are
// under publish/ already, and only its status is written (WriteStatus).
func Publish(ctx context.Context, st store.Store, meta *Metadata) (Manifest, error) {
	if meta == nil || meta.Status != ReleasePublished {
		return Manifest{}, errors.New("publication: publish: the release is not approved")
	}
	d, err := ReadDraftManifest(ctx, st, meta.WaveID, meta.ReleaseID)
	if errors.Is(err, store.ErrNotExist) {
		return WriteStatus(ctx, st, meta)
	}
	if err != nil {
		return Manifest{}, err
	}
	if err := keepListedLineage(ctx, st, meta); err != nil {
		return Manifest{}, err
	}
	status := map[string]bool{
		schemas.DraftKey(schemas.PublishMetadataKey(meta.WaveID, meta.ReleaseID)):       true,
		schemas.DraftKey(schemas.PublishReleaseParquetKey(meta.WaveID, meta.ReleaseID)): true,
	}
	m := Manifest{ReleaseID: meta.ReleaseID, WaveID: meta.WaveID, Prefix: schemas.PublishPrefix(meta.WaveID, meta.ReleaseID)}
	for _, f := range d.Files {
		if status[f.Key] {
			continue
		}
		if !strings.HasPrefix(f.Key, d.Prefix) || d.Prefix != schemas.DraftPrefix(meta.WaveID, meta.ReleaseID) {
			return Manifest{}, fmt.Errorf("publication: publish: %s lists %s, not a file of the draft of release %s", d.ManifestKey, f.Key, meta.ReleaseID)
		}
		b, err := store.ReadAll(ctx, st, f.Key)
		if err != nil {
			return Manifest{}, fmt.Errorf("publication: publish: read %s: %w", f.Key, err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
			return Manifest{}, fmt.Errorf("publication: publish: %s does not match its SHA-256 in %s: the draft changed since it was written; build the release again", f.Key, d.ManifestKey)
		}
		pf := f
		pf.Key = schemas.PublishedKey(f.Key)
		if err := store.PutBytes(ctx, st, pf.Key, b); err != nil {
			return Manifest{}, fmt.Errorf("publication: store %s: %w", pf.Key, err)
		}
		m.Files = append(m.Files, pf)
	}
	pm := *meta
	pm.Tables = slices.Clone(meta.Tables)
	for i := range pm.Tables {
		files := make([]string, len(pm.Tables[i].Files))
		for j, k := range pm.Tables[i].Files {
			files[j] = schemas.PublishedKey(k)
		}
		pm.Tables[i].Files = files
	}
	outs, err := statusOutputs(&pm, published)
	if err != nil {
		return Manifest{}, err
	}
	// release.parquet, then metadata.json, whose status says published.
	for _, o := range []output{outs[1], outs[0]} {
		f, err := put(ctx, st, o)
		if err != nil {
			return Manifest{}, err
		}
		m.Files = append(m.Files, f)
	}
	m.Summary = pm.Summary()
	if err := writeManifest(ctx, st, &m, schemas.PublishManifestKey(meta.WaveID, meta.ReleaseID)); err != nil {
		return Manifest{}, err
	}
	*meta = pm
	return m, nil
}

// WriteStatus writes the status of a release drafted under publish/ (before drafts
// moved to drafts/) after Approve: metadata.json, release.parquet and manifest.json
// are rewritten in place; the figures are not touched. Writing the same metadata again
// gives the same bytes. The metadata of a release written before metadata.json gave
// its lineage as a digest listed every lake object it was read from: those objects go
// to the release's internal lineage first (unless it has one), and metadata.json
// keeps the digest alone.
func WriteStatus(ctx context.Context, st store.Store, meta *Metadata) (Manifest, error) {
	if meta == nil {
		return Manifest{}, errors.New("publication: write status: no metadata")
	}
	m, err := ReadManifest(ctx, st, meta.WaveID, meta.ReleaseID)
	if err != nil {
		return Manifest{}, err
	}
	if err := keepListedLineage(ctx, st, meta); err != nil {
		return Manifest{}, err
	}
	outs, err := statusOutputs(meta, published)
	if err != nil {
		return Manifest{}, err
	}
	for _, o := range outs {
		f, err := put(ctx, st, o)
		if err != nil {
			return Manifest{}, err
		}
		replaced := false
		for i := range m.Files {
			if m.Files[i].Key == f.Key {
				m.Files[i], replaced = f, true
			}
		}
		if !replaced {
			m.Files = append(m.Files, f)
		}
	}
	m.Summary = meta.Summary()
	if err := writeManifest(ctx, st, &m, schemas.PublishManifestKey(meta.WaveID, meta.ReleaseID)); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// keepListedLineage writes the internal lineage of a release whose metadata.json
// listed its lake objects (LineageDigest.listed), unless it has one already.
func keepListedLineage(ctx context.Context, st store.Store, meta *Metadata) error {
	l := LineageReport{ReleaseID: meta.ReleaseID, WaveID: meta.WaveID}
	for _, t := range meta.Tables {
		if t.Lineage.listed != nil {
			l.Tables = append(l.Tables, TableLineage{Table: t.Table, ObjectsSHA256: t.Lineage.ObjectsSHA256, Objects: t.Lineage.listed})
		}
	}
	if l.Tables == nil {
		return nil
	}
	key := schemas.PublicationLineageKey(meta.WaveID, meta.ReleaseID)
	switch ok, err := store.Exists(ctx, st, key); {
	case err != nil:
		return fmt.Errorf("publication: %s: %w", key, err)
	case ok:
		return nil
	}
	return putLineage(ctx, st, l)
}

// putLineage stores a release's internal lineage (schemas.PublicationLineageKey).
func putLineage(ctx context.Context, st store.Store, l LineageReport) error {
	return putJSON(ctx, st, schemas.PublicationLineageKey(l.WaveID, l.ReleaseID), "the lineage of release "+l.ReleaseID, l)
}

// encodeParquet writes n rows as one Parquet file of layout l, in memory: row(i, t)
// fills row i into t (reused, so no table of rows is built first).
func encodeParquet[T any](l *schemas.Layout, n int, row func(i int, t *T)) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64<<10 + 24*n)
	w, err := lake.NewWriter[T](&buf, l)
	if err != nil {
		return nil, err
	}
	var t T
	for i := range n {
		row(i, &t)
		if err := w.Write(&t); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
