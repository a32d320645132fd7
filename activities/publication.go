package activities

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/publication"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/weighting"
)

// The publication's activities (issue #14): BuildRelease computes and writes a draft
// release from the warehouse (under drafts/), ApproveRelease marks it published and
// copies it to publish/. Both are thin: the
// method, the files and the lifecycle are package publication's.

// ReleaseSummary is what a release holds (publication.Summary), re-exported so the
// workflows and their clients need not import the publication package.
type ReleaseSummary = publication.Summary

// RakeFailed is the weighting status of an ICS whose raking did not converge: an
// approval must leave it out.
const RakeFailed = string(weighting.RakeFailed)

// ReleaseStatusPublished is a release's status once approved.
const ReleaseStatusPublished = publication.ReleasePublished

// ReleaseParams are the parameters a release sets (publication.Overrides, what
// `ice publish --params FILE` reads), re-exported so the workflows and their clients
// need not import the publication package.
type ReleaseParams = publication.Overrides

// ReleaseParam is one parameter of a release as its metadata records it.
type ReleaseParam = publication.Param

// ReleaseInput asks for a draft release of a wave.
type ReleaseInput struct {
	Scope
	ReleaseID string `json:"release_id"`
	// Exclude names ICSs left out of the release's figures (publication.Params.Exclude),
	// ExcludeReason why (publication.Params.ExcludeReason).
	Exclude       []string `json:"exclude,omitempty"`
	ExcludeReason string   `json:"exclude_reason,omitempty"`
	// Params are the parameters this release sets; the rest keep PUBLICATION.md's
	// defaults. Nil: every default.
	Params *ReleaseParams `json:"params,omitempty"`
}

// ReleaseICS is one ICS of a release: whether it has figures, its weighting status
// (not_needed, trimmed, infeasible_untrimmed, rake_failed, no_respondents or
// excluded) and why it has none.
type ReleaseICS struct {
	ICS             string `json:"ics"`
	Published       bool   `json:"published"`
	WeightingStatus string `json:"weighting_status"`
	Reason          string `json:"reason,omitempty"`
	Patients        int    `json:"patients"`
	Carers          int    `json:"carers"`
}

// ReleaseOutput names a release and what it holds: keys and counts, never figures.
type ReleaseOutput struct {
	ReleaseID      string         `json:"release_id"`
	Prefix         string         `json:"prefix"`
	ManifestKey    string         `json:"manifest_key"`
	ManifestSHA256 string         `json:"manifest_sha256"`
	Status         string         `json:"status"`
	ApprovedBy     string         `json:"approved_by,omitempty"`
	ApprovedAt     *time.Time     `json:"approved_at,omitempty"`
	LeftOut        []string       `json:"left_out,omitempty"`
	Summary        ReleaseSummary `json:"summary"`
	ICS            []ReleaseICS   `json:"ics"`
	// Parameters are every parameter of the release, the values it was computed with
	// (its metadata's).
	Parameters []ReleaseParam `json:"parameters,omitempty"`
	// Objects are the release's Parquet tables, for the warehouse's published_* and
	// releases tables.
	Objects []schemas.LakeObject `json:"objects"`
}

// ApproveReleaseInput is the sign-off of a draft release.
type ApproveReleaseInput struct {
	Scope
	ReleaseID string `json:"release_id"`
	By        string `json:"by"`
	// At is the approval time, fixed by the workflow so a retry writes the same bytes.
	At       time.Time `json:"at"`
	LeaveOut []string  `json:"leave_out,omitempty"`
}

// BuildRelease computes the release's figures from the warehouse (publication.Compute,
// on a read-only connection held under the warehouse's own lock, so no load lands
// half-way through the reads) and writes them as a draft release under drafts/
// (publication.Write), which the public cannot read; nothing goes to publish/ until
// the release is approved. A release already published is not computed again: its
// record is returned as it stands, so a workflow run again for it changes nothing
// (and an approval cut short before its manifest was written is finished first).
// Writing the same figures again gives the same bytes, so a retry changes nothing
// either; different figures replace the draft, which was never public.
func (w *WarehouseActivities) BuildRelease(ctx context.Context, in ReleaseInput) (ReleaseOutput, error) {
	if err := publication.ValidReleaseID(in.ReleaseID); err != nil {
		return ReleaseOutput{}, fault.Wrap(fault.BadInput, err)
	}
	// The parameters are checked before anything is read: a bad value is the sender's
	// to fix, and no retry would change it.
	p, err := in.Params.Apply(publication.DefaultParams())
	if err != nil {
		return ReleaseOutput{}, fault.Wrap(fault.BadInput, fmt.Errorf("release %s of wave %s: its parameters: %w", in.ReleaseID, in.WaveID, err))
	}
	p.Exclude, p.ExcludeReason = slices.Clone(in.Exclude), in.ExcludeReason
	meta, err := publication.ReadMetadata(ctx, w.Store, in.WaveID, in.ReleaseID)
	switch {
	case err == nil && meta.Status == publication.ReleasePublished:
		m, err := publication.ReadManifest(ctx, w.Store, in.WaveID, in.ReleaseID)
		if errors.Is(err, store.ErrNotExist) {
			m, err = publication.Publish(ctx, w.Store, meta)
		}
		if err != nil {
			return ReleaseOutput{}, err
		}
		out, err := releaseOf(ctx, w.Store, meta, m)
		if err == nil {
			audit.Record(ctx, "release_already_published", map[string]any{"release_id": in.ReleaseID,
				"approved_by": meta.ApprovedBy, "manifest": out.ManifestKey, "manifest_sha256": out.ManifestSHA256})
		}
		return out, err
	case err != nil && !errors.Is(err, store.ErrNotExist):
		return ReleaseOutput{}, err
	}
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	// The figures come from the warehouse, which is derived from the lake: a lake object
	// of the wave it has not loaded (a day's load still retrying, a warehouse rebuilt and
	// not reloaded yet) would be left out of them without a word. The draft waits for it,
	// retried as any failure, so it carries on once the object is loaded.
	missing, err := w.Warehouse.NotLoaded(ctx, w.Store, in.WaveID)
	if err != nil {
		return ReleaseOutput{}, fmt.Errorf("release %s of wave %s: check the warehouse holds the lake: %w", in.ReleaseID, in.WaveID, err)
	}
	if len(missing) > 0 {
		objects := "objects"
		if len(missing) == 1 {
			objects = "object"
		}
		return ReleaseOutput{}, fmt.Errorf("release %s of wave %s waits for %d lake %s the warehouse has not loaded (%s): "+
			"a load still retrying (ice wave status, ice audit --wave %s --failed), or a warehouse rebuilt and not reloaded "+
			"(ice warehouse reload --wave %s)", in.ReleaseID, in.WaveID, len(missing), objects, firstKeys(missing, 3), in.WaveID, in.WaveID)
	}
	var res *publication.Results
	err = w.Warehouse.Read(ctx, func(db *sql.DB) error {
		var err error
		res, err = publication.Compute(ctx, db, in.WaveID, p)
		return err
	})
	if err != nil {
		return ReleaseOutput{}, fmt.Errorf("compute release %s of wave %s: %w", in.ReleaseID, in.WaveID, err)
	}
	m, err := publication.Write(ctx, w.Store, res, in.ReleaseID)
	if err != nil {
		return ReleaseOutput{}, err
	}
	if meta, err = publication.ReadDraftMetadata(ctx, w.Store, in.WaveID, in.ReleaseID); err != nil {
		return ReleaseOutput{}, err
	}
	out, err := releaseOf(ctx, w.Store, meta, m)
	if err != nil {
		return ReleaseOutput{}, err
	}
	audit.Record(ctx, "release_drafted", map[string]any{"release_id": in.ReleaseID, "prefix": out.Prefix,
		"manifest": out.ManifestKey, "manifest_sha256": out.ManifestSHA256, "icss_published": out.Summary.ICSsPublished,
		"rake_failed": out.Summary.RakeFailed, "tables_checked": out.Summary.TablesChecked, "cells_withheld": out.Summary.CellsWithheld})
	return out, nil
}

// ApproveRelease signs a draft release off (publication.Approve, which refuses while an
// ICS's raking failed unless it is left out, and refuses to leave out an ICS with
// figures, so the release's files stand as drafted) and publishes it
// (publication.Publish): the draft's files are copied from drafts/ to publish/, its
// status and manifest written there last. The same approval again — a retry after
// some or all of that was done — writes the same bytes and finishes the job; any
// other approval of a published release is a fault.Conflict. A release drafted under
// publish/ before drafts moved to drafts/ is approved in place, as it was then.
func (a *Activities) ApproveRelease(ctx context.Context, in ApproveReleaseInput) (ReleaseOutput, error) {
	pub, err := publication.ReadMetadata(ctx, a.Store, in.WaveID, in.ReleaseID)
	if err != nil && !errors.Is(err, store.ErrNotExist) {
		return ReleaseOutput{}, err
	}
	meta := pub
	if pub == nil || pub.Status != publication.ReleasePublished {
		// Not published yet: approve the draft (or, with none under drafts/, a draft
		// written under publish/ before drafts moved).
		meta, err = publication.ReadDraftMetadata(ctx, a.Store, in.WaveID, in.ReleaseID)
		switch {
		case errors.Is(err, store.ErrNotExist) && pub != nil:
			meta = pub
		case errors.Is(err, store.ErrNotExist):
			return ReleaseOutput{}, fault.Wrap(fault.BadInput, err)
		case err != nil:
			return ReleaseOutput{}, err
		}
	}
	leaveOut := slices.Sorted(slices.Values(in.LeaveOut))
	same := meta.Status == publication.ReleasePublished && meta.ApprovedBy == in.By && meta.ApprovedAt != nil &&
		meta.ApprovedAt.Equal(in.At) && slices.Equal(meta.LeftOut, leaveOut)
	if !same {
		if err := publication.Approve(meta, in.By, in.At, in.LeaveOut); err != nil {
			return ReleaseOutput{}, fault.Wrap(fault.Conflict, err)
		}
	}
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	m, err := publication.Publish(ctx, a.Store, meta)
	if err != nil {
		return ReleaseOutput{}, err
	}
	out, err := releaseOf(ctx, a.Store, meta, m)
	if err != nil {
		return ReleaseOutput{}, err
	}
	audit.Record(ctx, "release_published", map[string]any{"release_id": in.ReleaseID, "approved_by": meta.ApprovedBy,
		"approved_at": meta.ApprovedAt, "left_out": meta.LeftOut, "prefix": out.Prefix, "manifest": out.ManifestKey,
		"manifest_sha256": out.ManifestSHA256})
	return out, nil
}

// releaseOf describes a release from its metadata and manifest, with each ICS's
// patients and carers from its internal weighting report (the release does not publish
// them). A release written before that report existed has none: its counts are 0.
func releaseOf(ctx context.Context, st store.Store, meta *publication.Metadata, m publication.Manifest) (ReleaseOutput, error) {
	counts := map[string]publication.ICSWeighting{}
	wr, err := publication.ReadWeighting(ctx, st, meta.WaveID, meta.ReleaseID)
	switch {
	case err == nil:
		for _, iw := range wr.ICSs {
			counts[iw.ICS] = iw
		}
	case !errors.Is(err, store.ErrNotExist):
		return ReleaseOutput{}, err
	}
	out := ReleaseOutput{ReleaseID: meta.ReleaseID, Prefix: m.Prefix, ManifestKey: m.ManifestKey, ManifestSHA256: m.ManifestSHA256,
		Status: meta.Status, ApprovedBy: meta.ApprovedBy, ApprovedAt: meta.ApprovedAt, LeftOut: meta.LeftOut,
		Summary: meta.Summary(), Objects: m.WarehouseObjects(), Parameters: slices.Clone(meta.Parameters)}
	if out.Prefix == "" {
		out.Prefix = schemas.PublishPrefix(meta.WaveID, meta.ReleaseID)
	}
	for _, im := range meta.ICSs {
		out.ICS = append(out.ICS, ReleaseICS{ICS: im.ICS, Published: im.Published, WeightingStatus: im.WeightingStatus,
			Reason: im.Reason, Patients: counts[im.ICS].Patients, Carers: counts[im.ICS].Carers})
	}
	return out, nil
}

// firstKeys lists the first n keys, and how many more there are.
func firstKeys(keys []string, n int) string {
	if len(keys) <= n {
		return strings.Join(keys, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(keys[:n], ", "), len(keys)-n)
}
