#!/usr/bin/env bash
# Build Dispatch Desk as a one-folder bundle that runs without Python installed:
#
#   packaging/build.sh            ->  packaging/out/dist/dispatchdesk/dispatchdesk
#   packaging/build.sh --deb      ->  and packaging/out/dispatchdesk_<version>_<arch>.deb
#
# The bundle is rebuilt only when its inputs changed (src/, the spec, the launcher, uv.lock):
# their hash is kept in the bundle as .build-key. DISPATCHDESK_BUILD_OUT moves packaging/out;
# DISPATCHDESK_PYTHON runs PyInstaller with that interpreter instead of `uv run`.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DISPATCHDESK_BUILD_OUT:-packaging/out}
BUNDLE="$OUT/dist/dispatchdesk"

key=$( { find src -name '*.py' -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum
         sha256sum packaging/dispatchdesk.spec packaging/launcher.py uv.lock; } | sha256sum | cut -c1-16)

if [[ -f "$BUNDLE/.build-key" && "$(cat "$BUNDLE/.build-key")" == "$key" ]]; then
  echo "bundle up to date: $BUNDLE ($key)"
else
  rm -rf "$BUNDLE"
  start=$(date +%s)
  # The bytecode PyInstaller writes into the bundle does not depend on this variable, and the
  # frozen app ignores the environment's PYTHON* settings; unset it so the build is the same
  # from any shell.
  unset PYTHONDONTWRITEBYTECODE
  if [[ -n "${DISPATCHDESK_PYTHON:-}" ]]; then
    pyinstaller=("$DISPATCHDESK_PYTHON" -m PyInstaller)
  else
    pyinstaller=(uv run --frozen pyinstaller)
  fi
  "${pyinstaller[@]}" --noconfirm --log-level WARN \
    --distpath "$OUT/dist" --workpath "$OUT/build" packaging/dispatchdesk.spec
  echo "$key" > "$BUNDLE/.build-key"
  echo "bundle built in $(( $(date +%s) - start )) s: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
fi

if [[ "${1:-}" == "--deb" ]]; then
  packaging/linux/build-deb.sh "$BUNDLE" "$OUT"
fi
