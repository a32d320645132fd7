#!/usr/bin/env bash
# Runs every native Go fuzz target (func FuzzXxx in a *_fuzz_test.go file) for a bounded
# time, one after another, and prints a table of what each did. A target that finds a
# failing input stops the run with a non-zero status; Go has written the input to the
# package's testdata/fuzz/FuzzXxx/ directory, where it stays as a regression test once
# the parser is fixed.
#
#   bash infra/fuzz.sh                          # every target, FUZZTIME each (default 4s)
#   FUZZTIME=10m bash infra/fuzz.sh dbs/FuzzParseResponse intake/FuzzMailingCSV
#   FUZZTIME=10s FUZZPARALLEL=2 bash infra/fuzz.sh mesh   # the targets of one package
#
# Arguments select targets: "dir/FuzzName", "dir" (all of a package) or "FuzzName".
# FUZZTIME is anything `go test -fuzztime` takes (a duration, or "1000x" executions).
# FUZZPARALLEL is the number of fuzzing workers (default 1: the CI machine is shared).
# FUZZMINIMIZETIME bounds the minimising of each new interesting input (default 100x:
# Go's default of 60s a time stalls a target whose inputs are large, like a workbook).
# FUZZBUDGET, in seconds, stops starting targets once that long has passed (the rest
# are listed as skipped); with it the run starts at a target that moves on by one each
# day, so that over days every target gets its turn. Building a package for fuzzing
# compiles it and all it imports again with coverage instrumentation: minutes for the
# first target of a package on a cold build cache, seconds once the cache holds it.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-4s}"
parallel="${FUZZPARALLEL:-1}"
minimize="${FUZZMINIMIZETIME:-100x}"
budget="${FUZZBUDGET:-0}"

# dir<TAB>name for every fuzz target, in a stable order.
targets=$(
  for f in $(git ls-files --cached --others --exclude-standard '*_fuzz_test.go' 2>/dev/null || find . -name '*_fuzz_test.go' -not -path './.git/*'); do
    dir=$(dirname "${f#./}")
    sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$f" | while read -r name; do
      printf '%s\t%s\n' "$dir" "$name"
    done
  done | sort
)

selected() {
  local dir="$1" name="$2" w
  [ "${#want[@]}" -eq 0 ] && return 0
  for w in "${want[@]}"; do
    case "$w" in
      "$dir/$name" | "$dir" | "$name") return 0 ;;
    esac
  done
  return 1
}

want=("$@")
chosen=()
while IFS=$'\t' read -r dir name; do
  [ -n "$dir" ] || continue
  selected "$dir" "$name" && chosen+=("$dir"$'\t'"$name")
done <<<"$targets"
if [ "$budget" -gt 0 ] && [ "${#chosen[@]}" -gt 1 ]; then
  day=$((10#$(date +%j)))
  first=$((day % ${#chosen[@]}))
  chosen=("${chosen[@]:first}" "${chosen[@]:0:first}")
fi

if [ "${#chosen[@]}" -eq 0 ]; then
  echo "no fuzz target matches: $*" >&2
  exit 2
fi

failed=0
ran=0
skipped=0
flaked=0
began=$(date +%s)
printf '%-12s %-24s %8s %12s %12s %s\n' package target time execs interesting result
for t in "${chosen[@]}"; do
  IFS=$'\t' read -r dir name <<<"$t"
  if [ "$budget" -gt 0 ] && [ $(($(date +%s) - began)) -ge "$budget" ]; then
    printf '%-12s %-24s %8s %12s %12s %s\n' "$dir" "$name" - - - "skipped (FUZZBUDGET ${budget}s spent)"
    skipped=$((skipped + 1))
    continue
  fi
  ran=$((ran + 1))
  log=$(mktemp)
  corpus="$dir/testdata/fuzz/$name"
  before=$(ls "$corpus" 2>/dev/null | sort || true)
  start=$(date +%s)
  status=0
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" -parallel="$parallel" "./$dir" >"$log" 2>&1 || status=$?
  secs=$(($(date +%s) - start))
  execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  interesting=$(grep -oE 'new interesting: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  result=ok
  if [ "$status" -ne 0 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log" &&
    [ "$(ls "$corpus" 2>/dev/null | sort || true)" = "$before" ]; then
    # Go 1.26's fuzzing coordinator can report its own -fuzztime deadline as a failure
    # when a worker is mid-input as it passes (go.dev/issue/75804, fixed in Go 1.27): no
    # input is written, and nothing fails. The corpus is replayed, deterministically, to
    # be sure; a failure there is a failure.
    if go test -run="^${name}\$" "./$dir" >>"$log" 2>&1; then
      status=0
      result="ok (Go's deadline race, go.dev/issue/75804: no input written; corpus replayed)"
      flaked=$((flaked + 1))
    fi
  fi
  if [ "$status" -ne 0 ]; then
    result=FAIL
    failed=$((failed + 1))
  fi
  printf '%-12s %-24s %7ss %12s %12s %s\n' "$dir" "$name" "$secs" "${execs:-0}" "${interesting:-0}" "$result"
  if [ "$status" -ne 0 ]; then
    # The failure and the command that reproduces it (Go prints both).
    grep -vE '^fuzz: elapsed' "$log" | tail -30 | sed 's/^/    /'
  fi
  rm -f "$log"
done

if [ "$failed" -ne 0 ]; then
  echo "$failed of $ran fuzz targets found a failing input" >&2
  exit 1
fi
echo "$ran fuzz targets, $fuzztime each: no failing input; $skipped skipped; $flaked stopped by Go's deadline race (corpus replayed)"
