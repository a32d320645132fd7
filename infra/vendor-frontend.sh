#!/usr/bin/env bash
# Re-vendors the dashboard's front-end packages from the npm registry, at exactly the
# pinned versions, and checks every vendored file against the committed SHA-256 lists.
#
#   bash infra/vendor-frontend.sh          # fetch, write the vendored files, check them
#   bash infra/vendor-frontend.sh --check  # fetch into a temp dir and compare only
#   bash infra/vendor-frontend.sh --pin    # after changing a version above and reviewing
#                                          # the package: record its files' SHA-256 lists
#
# What it vendors (and why only these files):
#   web/static/vendor/nhsuk-frontend-$NHSUK/   the NHS.UK design system's compiled CSS and
#     JS, the images the CSS and the layout use, the package's package.json and README
#     (which state its MIT licence), and LICENCE (the MIT text of the upstream repository;
#     the npm tarball carries no licence file, so it is committed by hand and not checked
#     here). nhsuk-frontend-$NHSUK.system-font.min.css is derived: the same CSS with its
#     @font-face rules (Frutiger from the NHS font host, which cannot be reached from NHS
#     networks in every setting and which our Content Security Policy does not allow)
#     and its source-map comment removed, so the font stack falls back to the system font
#     (Arial, sans-serif) with no failed request.
#   web/internal/browsertest/axe/axe-core-$AXE/   axe-core for the browser tests only,
#     with its licences (MPL-2.0, and the third-party notices).
# No htmx: the dashboard works without JavaScript, and the few lines of our own
# (web/static/js/app.js) only start the design system's components.
set -euo pipefail
cd "$(dirname "$0")/.."

NHSUK=10.6.1
AXE=4.14.1
NHSUK_DIR=web/static/vendor/nhsuk-frontend-$NHSUK
AXE_DIR=web/internal/browsertest/axe/axe-core-$AXE
NHSUK_IMAGES="favicon.ico favicon.svg nhsuk-icon-180.png nhsuk-icon-mask.svg nhsuk-icon-arrow-down.svg nhsuk-icon-arrow-up-down.svg nhsuk-icon-arrow-up.svg nhsuk-icon-cross.svg"

check_only=false
pin=false
[ "${1:-}" = "--check" ] && check_only=true
[ "${1:-}" = "--pin" ] && pin=true

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm pack fetches the exact published tarballs (with the registry's integrity check)
# without installing anything or running any package script.
(cd "$tmp" && npm pack --silent "nhsuk-frontend@$NHSUK" "axe-core@$AXE" >/dev/null)
mkdir -p "$tmp/nhsuk" "$tmp/axe"
tar -xzf "$tmp/nhsuk-frontend-$NHSUK.tgz" -C "$tmp/nhsuk"
tar -xzf "$tmp/axe-core-$AXE.tgz" -C "$tmp/axe"

# Lay the vendored tree out in $tmp/out exactly as it is committed.
out="$tmp/out"
n="$tmp/nhsuk/package"
mkdir -p "$out/$NHSUK_DIR/assets/images" "$out/$AXE_DIR"
cp "$n/package.json" "$n/README.md" "$out/$NHSUK_DIR/"
cp "$n/dist/nhsuk/nhsuk-frontend-$NHSUK.min.css" "$n/dist/nhsuk/nhsuk-frontend-$NHSUK.min.js" "$out/$NHSUK_DIR/"
for f in $NHSUK_IMAGES; do cp "$n/dist/nhsuk/assets/images/$f" "$out/$NHSUK_DIR/assets/images/"; done
node -e '
  const fs = require("fs");
  const [src, dst] = process.argv.slice(1);
  let css = fs.readFileSync(src, "utf8");
  const before = (css.match(/@font-face\{/g) || []).length;
  css = css.replace(/@font-face\{[^}]*\}/g, "").replace(/\/\*# sourceMappingURL=[^*]*\*\/\s*$/, "");
  if (before === 0 || /@font-face|assets\.nhs\.uk|https?:\/\//.test(css)) {
    console.error("vendor-frontend: unexpected CSS: " + before + " @font-face rules, or a remote URL left");
    process.exit(1);
  }
  fs.writeFileSync(dst, css);
' "$n/dist/nhsuk/nhsuk-frontend-$NHSUK.min.css" "$out/$NHSUK_DIR/nhsuk-frontend-$NHSUK.system-font.min.css"
a="$tmp/axe/package"
cp "$a/axe.min.js" "$a/LICENSE" "$a/LICENSE-3RD-PARTY.txt" "$a/package.json" "$out/$AXE_DIR/"

if $pin; then
  for dir in "$NHSUK_DIR" "$AXE_DIR"; do
    mkdir -p "$dir"
    (cd "$out/$dir" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum) > "$dir/SHA256SUMS"
    echo "vendor-frontend: pinned $dir/SHA256SUMS"
  done
fi

# Every file fetched must match the committed list, byte for byte.
status=0
for dir in "$NHSUK_DIR" "$AXE_DIR"; do
  if [ ! -f "$dir/SHA256SUMS" ]; then
    echo "vendor-frontend: $dir/SHA256SUMS is missing"; status=1; continue
  fi
  if ! (cd "$out/$dir" && sha256sum --quiet -c "$OLDPWD/$dir/SHA256SUMS"); then
    echo "vendor-frontend: files fetched from npm for $dir do not match $dir/SHA256SUMS"; status=1
  fi
  # The list covers every file fetched, and nothing else.
  listed="$(awk '{print $2}' "$dir/SHA256SUMS" | sed 's/^\*//' | sort)"
  fetched="$(cd "$out/$dir" && find . -type f | sed 's|^\./||' | sort)"
  if [ "$listed" != "$fetched" ]; then
    echo "vendor-frontend: $dir/SHA256SUMS lists other files than were fetched"; status=1
  fi
done
[ "$status" -eq 0 ] || exit "$status"

if $check_only; then
  # The committed copies must equal what was fetched.
  for dir in "$NHSUK_DIR" "$AXE_DIR"; do
    (cd "$dir" && sha256sum --quiet -c SHA256SUMS) || { echo "vendor-frontend: committed files in $dir differ from SHA256SUMS"; exit 1; }
  done
  echo "vendor-frontend: nhsuk-frontend $NHSUK and axe-core $AXE match the committed files"
  exit 0
fi
for dir in "$NHSUK_DIR" "$AXE_DIR"; do
  mkdir -p "$dir"
  (cd "$out/$dir" && find . -type f) | while read -r f; do
    mkdir -p "$dir/$(dirname "$f")"
    cp "$out/$dir/$f" "$dir/$f"
  done
done
echo "vendor-frontend: vendored nhsuk-frontend $NHSUK into $NHSUK_DIR and axe-core $AXE into $AXE_DIR"
