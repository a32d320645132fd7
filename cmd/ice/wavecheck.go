package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/waveclient"
)

// anyWaveUsage is the --any-wave flag's help, the same on every command that takes it.
const anyWaveUsage = "run it even if the cluster knows no such wave (its lake written otherwise, or its workflow removed by the namespace's retention)"

// bindAnyWave adds --any-wave to a command that checks its wave with knownWave.
func bindAnyWave(cmd *cobra.Command, anyWave *bool) {
	cmd.Flags().BoolVar(anyWave, "any-wave", false, anyWaveUsage)
}

// knownWave checks, before a command starts or writes anything for a wave, that the
// cluster knows the wave and that each ICS named is one of its own: a mistyped id would
// otherwise leave workflows, audit rows, lake objects or reports under a wave (or ICS)
// that does not exist, and exit 0. With anyWave a wave the cluster does not know is let
// through (an ICS a known wave lacks is refused all the same); `ice schedule
// daily-load` makes the same check.
func knownWave(ctx context.Context, cl *waveclient.Client, wave string, icss []string, anyWave bool) error {
	err := cl.CheckWaveICSs(ctx, wave, icss)
	if errors.Is(err, waveclient.ErrUnknownWave) {
		if anyWave {
			return nil
		}
		return fmt.Errorf("%w; --any-wave runs it all the same (say, for a wave whose lake was written otherwise, or whose workflow the namespace's retention has removed)", err)
	}
	return err
}

// ErrNoSample: the lake holds no sample of the wave's ICS.
var ErrNoSample = errors.New("the lake holds no sample of that wave and ICS")

// sampleInLake checks, for a command that reads and writes only the store, that the
// wave's ICS has its sample in the lake (every wave's ICS has, from its intake on): a
// mistyped wave or ICS would otherwise have its records written under it.
func sampleInLake(ctx context.Context, st store.Store, wave, ics string) error {
	ok, err := store.Exists(ctx, st, schemas.SampleKey(wave, ics))
	switch {
	case err != nil:
		return fmt.Errorf("look for the sample of %s %s: %w", wave, ics, err)
	case !ok:
		// ICS codes are written as they are: qmm is not QMM.
		if up := strings.ToUpper(ics); up != ics {
			if ok, _ := store.Exists(ctx, st, schemas.SampleKey(wave, up)); ok {
				return fmt.Errorf("wave %s, ICS %s: %w (ICS codes are written as they are: did you mean %s?)", wave, ics, ErrNoSample, up)
			}
		}
		return fmt.Errorf("wave %s, ICS %s: %w (%s; is the wave id or ICS code right, and this the wave's store?)", wave, ics, ErrNoSample, schemas.SampleKey(wave, ics))
	}
	return nil
}
