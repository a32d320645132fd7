#!/usr/bin/env bash
# Installs the Debian packages the tests use as real peers, in one apt-get run, and only
# those missing (a second run installs nothing):
#   chromium       the dashboard's browser tests drive Debian's Chromium with chromedp
#                  (web/browser_test.go; never a downloaded browser), with a font to render
#   libxml2-utils  xmllint validates the REFI-QDA exports against their XSDs (themes/)
#   r-base-core, r-cran-survey, r-cran-mass
#                  R's survey package, the independent check of the published
#                  statistics (estimate/crosscheck_test.go, bench/publication)
#   docker-compose docker-compose config validates docker-compose.yml offline (no Docker
#                  engine runs in CI; infra/test.sh)
# Each check is a command that succeeds when the package is usable.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium fonts-liberation)
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if ! Rscript -e 'suppressPackageStartupMessages({library(survey); library(MASS)})' >/dev/null 2>&1; then
  need+=(r-base-core r-cran-survey r-cran-mass)
fi

if [ "${#need[@]}" -gt 0 ]; then
  echo "== installing Debian packages: ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
