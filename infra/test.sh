#!/usr/bin/env bash
# The project's test command (README): installs what the tests need, then vets and tests
# everything. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# The S3 backend is tested against a real S3-compatible server on loopback.
bash infra/versitygw.sh
export PATH="$PATH:$(go env GOPATH)/bin"

# --- R for the published statistics' cross-check (issue #14; estimate/crosscheck_test.go)
# Debian's R with the survey package (and MASS, which survey's calibrate needs), the
# independent check of weights, % positive, n_eff and intervals. Idempotent: nothing
# is installed when Rscript already loads both packages.
if ! Rscript -e 'suppressPackageStartupMessages({library(survey); library(MASS)})' >/dev/null 2>&1; then
  echo "== installing r-base-core r-cran-survey r-cran-mass"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    r-base-core r-cran-survey r-cran-mass >/dev/null
fi
# --- end R

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== workflowcheck"
# Temporal's determinism checker over the workflow code (from the module proxy).
go run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./workflows/...
echo "== go test"
log="$(mktemp)"
status=0
go test -count=1 -timeout 75m -v ./... > "$log" 2>&1 || status=$?
# Package results and every failure, not the whole verbose log.
grep -E '^(ok|FAIL|---|panic:)|^\s+\S+_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' || true
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  tail -50 "$log"   # a build failure or panic: show it
fi
echo "$passed passed, $failed failed, $skipped skipped"
rm -f "$log"
exit "$status"
