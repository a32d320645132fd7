#!/usr/bin/env bash
# Installs versitygw, the S3-compatible gateway that store/s3_test.go starts on
# loopback to run the object-store conformance suite against a real S3 server.
#
# Idempotent: does nothing when a versitygw binary is already on PATH or in
# $(go env GOBIN) / $(go env GOPATH)/bin, where the tests look for it. Otherwise it
# builds the pinned release from the Go module proxy, the only network it needs
# (a few minutes on two cores). VERSITYGW_VERSION overrides the version.
set -euo pipefail

version="${VERSITYGW_VERSION:-v1.8.0}"
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"

if found="$(command -v versitygw)"; then
	echo "versitygw: found $found"
	exit 0
fi
if [ -x "$gobin/versitygw" ]; then
	echo "versitygw: found $gobin/versitygw"
	exit 0
fi

echo "versitygw: installing github.com/versity/versitygw/cmd/versitygw@$version into $gobin"
# Build outside any module or workspace, so no project's go.mod is consulted or touched.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
GOWORK=off go install "github.com/versity/versitygw/cmd/versitygw@$version"
echo "versitygw: installed $gobin/versitygw"
