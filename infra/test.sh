#!/usr/bin/env bash
# The project's test command (README): installs what the tests need, then vets and tests
# everything. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# The S3 backend is tested against a real S3-compatible server on loopback.
bash infra/versitygw.sh

export PATH="$PATH:$(go env GOPATH)/bin"

# Debian packages the tests use as real peers (Chromium, xmllint, R with survey).
bash infra/debian-deps.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi
echo "== docker-compose config"
# The production stack's file as docker-compose reads it, offline: it must pass with the
# values an .env has to give, and refuse to start without any of its secrets, naming it.
# (cmd/ice's TestComposeCommandsAreTheCLIs checks the ice commands in it.)
compose_envfile="$(mktemp)"   # empty: a developer's own .env must not count
compose_env() {
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" "$@" docker-compose --env-file "$compose_envfile" -f docker-compose.yml config -q
}
# Every secret the README says .env must give is required: one left out is refused,
# naming it, rather than replaced by a default (a known password, an empty key).
compose_required="ICE_PSEUDONYM_KEY=0000000000000000000000000000000000000000000000000000000000000000
S3_ACCESS_KEY=icesurvey
S3_SECRET_KEY=a-secret-of-the-deployment
NOTIFY_API_KEY=live-00000000-0000-0000-0000-000000000000-00000000-0000-0000-0000-000000000000
ICE_OIDC_ISSUER=https://issuer.example
ICE_OIDC_CLIENT_ID=ice-dashboard
ICE_OIDC_REDIRECT_URL=https://dashboard.example/auth/callback"
# shellcheck disable=SC2086
compose_env $compose_required
for name in ICE_PSEUDONYM_KEY S3_ACCESS_KEY S3_SECRET_KEY NOTIFY_API_KEY ICE_OIDC_ISSUER; do
  # shellcheck disable=SC2086
  if compose_err=$(compose_env $(echo "$compose_required" | grep -v "^$name=") 2>&1); then
    echo "docker-compose config accepted the stack without $name"; exit 1
  fi
  case "$compose_err" in *"$name"*) ;; *) echo "docker-compose config without $name: $compose_err"; exit 1 ;; esac
done
rm -f "$compose_envfile"
echo "== go vet"
go vet ./...
# The production build (the Dockerfile's) leaves the dev stack out: it must compile too.
echo "== go build -tags production ./cmd/ice"
go build -tags production -o /dev/null ./cmd/ice
# and its tests that are not dev-only must compile there as well (vet compiles them).
go vet -tags production ./cmd/ice
echo "== workflowcheck"
# Temporal's determinism checker over the workflow code (from the module proxy).
go run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./workflows/...
echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== go test -race (the packages that work concurrently)"
# Also run by the plain go test below; here under the race detector. A package that
# starts goroutines adds itself to this line. (notify is left out: its rate-limiter test
# measures wall-clock timing, which the race detector's slowdown upsets.)
racelog="$(mktemp)"
race=0
go test -race -count=1 -timeout 30m ./intake/... ./lake/... ./responses/... ./mailing/... ./store/... > "$racelog" 2>&1 || race=$?
# Linkage: extracts validated side by side share their cohort's engine.
if [ "$race" -eq 0 ]; then
  go test -race -count=1 -timeout 10m -run 'TestConcurrentValidations|TestCohortEngine' ./linkage/ >> "$racelog" 2>&1 || race=$?
fi
grep -E '^(ok|FAIL|---|panic:|WARNING: DATA RACE)|^\s+\S+_test\.go:[0-9]+:' "$racelog" || true
if [ "$race" -ne 0 ]; then
  tail -80 "$racelog"; rm -f "$racelog"; exit "$race"
fi
rm -f "$racelog"
echo "== go test"
log="$(mktemp)"
status=0
go test -count=1 -timeout 75m -v ./... > "$log" 2>&1 || status=$?
# Package results and every failure, not the whole verbose log.
grep -E '^(ok|FAIL|---|panic:|fatal error:|signal )|^\s+\S+_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' || true
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A build failure, a panic or a test binary that exited on its own: no test says
  # FAIL, so show the end of each failing package's own output (go test prints a
  # package's output together, ending with its FAIL line), and the log's end.
  grep -nE '^FAIL\s+\S+' "$log" | cut -d: -f1 | while read -r at; do
    echo "-- the 40 lines before line $at of the test log:"
    sed -n "$((at > 40 ? at - 40 : 1)),${at}p" "$log"
  done
  tail -50 "$log"
fi
echo "$passed passed, $failed failed, $skipped skipped"
rm -f "$log"

# == fuzz (issue #13 item 7) ==========================================================
# Every native fuzz target (*_fuzz_test.go) runs for FUZZTIME (default 3s) on top of its
# seed corpus; `go test` above has already run each seed corpus as a test. A failing
# input is written to the package's testdata/fuzz/ and fails the run. FUZZBUDGET (default
# 120s) stops starting targets once spent (on a cold build cache the instrumented builds
# take most of it; the first target moves on daily). Longer runs:
# FUZZTIME=10m bash infra/fuzz.sh <target>.
echo "== fuzz"
fuzz_status=0
FUZZTIME="${FUZZTIME:-3s}" FUZZBUDGET="${FUZZBUDGET:-120}" bash infra/fuzz.sh || fuzz_status=$?
if [ "$status" -eq 0 ]; then status=$fuzz_status; fi
# ======================================================================================
exit "$status"
