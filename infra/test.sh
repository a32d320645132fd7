#!/usr/bin/env bash
# The project's test command (README): installs what the tests need, then vets and tests
# everything. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# The S3 backend is tested against a real S3-compatible server on loopback.
bash infra/versitygw.sh
export PATH="$PATH:$(go env GOPATH)/bin"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 75m ./...
