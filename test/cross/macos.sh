#!/usr/bin/env bash
# Cross-checks with zig's C/C++ compiler (clang with its own libc headers for each target):
#   macOS   x86_64-macos, aarch64-macos: the platform layer (platform_posix.cc +
#           platform_darwin.cc), every other native/*.cc against Node's headers, the public headers,
#           test/cross/platform-unit.cc when present. Compiled only: nothing runs (no Mac here).
#   Alpine  x86_64-linux-musl, aarch64-linux-musl: the same set with platform_linux.cc; the
#           platform unit test (when present) is linked statically for x86_64-linux-musl and RUN
#           here, since a static musl binary runs on any x86_64 Linux.
#   MSVC    the public headers with clang in MSVC-compatibility mode (-fms-compatibility
#           -fms-compatibility-version=19.30, x86_64-windows-gnu headers): clang pretending to be
#           MSVC 19.30, not MSVC itself; once with the gcc/clang overflow builtins and once with
#           the portable path real MSVC takes (MEMORYVIEW_PORTABLE_OVERFLOW).
#
# Usage: ZIG=/path/to/zig bash test/cross/macos.sh
# Environment: ZIG (required), NODE_INCLUDE (Node's include/node directory; found otherwise).
# Prints one line per step (COMPILED, LINKED, RAN, FAILED, SKIPPED) and a summary as the last line.
# Exit status: 0 when nothing failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ZIG="${ZIG:-}"
if [[ -z "$ZIG" || ! -x "$ZIG" ]]; then
  echo "FAILED: set ZIG to the zig binary (got '${ZIG}')"
  echo "macos.sh: 0 compiled, 0 ran, 1 failed (no zig)"
  exit 1
fi

# Node's headers: node-gyp's cache for this Node version, else the nodedir npm is configured with,
# else the include/ next to the node binary (where Node's own packages put them).
node_include() {
  local version candidate
  version="$(node -p 'process.versions.node')"
  for candidate in "${NODE_INCLUDE:-}" "$HOME/.cache/node-gyp/$version/include/node" \
    "$(npm config get nodedir 2>/dev/null)/include/node" \
    "$(dirname "$(dirname "$(command -v node)")")/include/node"; do
    if [[ -n "$candidate" && -f "$candidate/node_api.h" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
NODE_INC="$(node_include)" || {
  echo "FAILED: no Node headers (node_api.h) found; set NODE_INCLUDE"
  echo "macos.sh: 0 compiled, 0 ran, 1 failed (no Node headers)"
  exit 1
}
NAPI_INC="$(cd "$ROOT" && node -p "require('node-addon-api').include_dir")"
[[ "$NAPI_INC" = /* ]] || NAPI_INC="$ROOT/$NAPI_INC"

OUT="$(mktemp -d "${TMPDIR:-/tmp}/mv-cross-XXXXXX")"
trap 'rm -rf "$OUT"' EXIT

# The flags binding.gyp gives every source, and the warnings the Linux build uses, as errors.
DEFINES=(-DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED
  -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS)
WARN=(-std=c++17 -fexceptions -Wall -Wextra -Werror)
# The consumer fixtures move a Buffer onto itself on purpose (the header must survive it).
CONSUMER=(-Wno-self-move)

compiled=0 linked=0 ran=0 failed=0 skipped=0
declare -a failures=()

# step KIND LABEL COMMAND...: runs COMMAND, prints "KIND LABEL" or "FAILED LABEL" with its output.
step() {
  local kind="$1" label="$2" log
  shift 2
  if log="$("$@" 2>&1)"; then
    echo "$kind $label"
    case "$kind" in
      COMPILED) compiled=$((compiled + 1)) ;;
      LINKED) linked=$((linked + 1)) ;;
      RAN) ran=$((ran + 1)) ;;
    esac
    [[ "$kind" == RAN && -n "$log" ]] && sed 's/^/    /' <<<"$log" | tail -40
    return 0
  fi
  echo "FAILED $label"
  sed 's/^/    /' <<<"$log" | head -60
  failed=$((failed + 1))
  failures+=("$label")
  return 1
}

# The node-API-free sources of the platform layer for an OS; the addon's other sources.
platform_sources() {
  case "$1" in
    macos) echo "native/platform_posix.cc native/platform_darwin.cc" ;;
    *) echo "native/platform_posix.cc native/platform_linux.cc" ;;
  esac
}
addon_sources() {
  local f
  for f in "$ROOT"/native/*.cc; do
    [[ "$(basename "$f")" == platform_* ]] || echo "native/$(basename "$f")"
  done
}

HEADER_TU="$OUT/headers.cc"
cat >"$HEADER_TU" <<'EOF'
// Every public header in one translation unit, as an addon includes them.
#include <memoryview.h>
#include <memoryview_layout.h>
int main() { return 0; }
EOF
UNIT="$ROOT/test/cross/platform-unit.cc"

check_target() {
  local target="$1" os="$2" src obj
  echo "== $target"
  for src in $(platform_sources "$os"); do
    step COMPILED "$target $src" "$ZIG" c++ -target "$target" "${WARN[@]}" -pedantic \
      -c "$ROOT/$src" -o "$OUT/x.o"
  done
  for src in $(addon_sources); do
    step COMPILED "$target $src" "$ZIG" c++ -target "$target" "${WARN[@]}" "${DEFINES[@]}" \
      -I"$NAPI_INC" -I"$NODE_INC" -c "$ROOT/$src" -o "$OUT/x.o"
  done
  step COMPILED "$target include/memoryview.h + include/memoryview_layout.h" "$ZIG" c++ \
    -target "$target" "${WARN[@]}" -pedantic "${DEFINES[@]}" -I"$ROOT/include" -I"$NAPI_INC" \
    -I"$NODE_INC" -c "$HEADER_TU" -o "$OUT/x.o"
  for src in "$ROOT"/test/fixtures/consumer/*.cc; do
    step COMPILED "$target test/fixtures/consumer/$(basename "$src") (header consumer)" "$ZIG" c++ \
      -target "$target" "${WARN[@]}" "${CONSUMER[@]}" "${DEFINES[@]}" -I"$ROOT/include" -I"$NAPI_INC" \
      -I"$NODE_INC" -c "$src" -o "$OUT/x.o"
  done
  if [[ -f "$UNIT" ]]; then
    step COMPILED "$target test/cross/platform-unit.cc" "$ZIG" c++ -target "$target" "${WARN[@]}" \
      -c "$UNIT" -o "$OUT/unit.o"
  else
    echo "SKIPPED $target test/cross/platform-unit.cc (not in this checkout)"
    skipped=$((skipped + 1))
  fi
}

check_target x86_64-macos macos
check_target aarch64-macos macos
check_target x86_64-linux-musl linux
check_target aarch64-linux-musl linux

echo "== x86_64-linux-musl: platform unit test, linked statically and run here"
if [[ -f "$UNIT" ]]; then
  # shellcheck disable=SC2046
  if step LINKED "x86_64-linux-musl platform-unit (static)" "$ZIG" c++ -target x86_64-linux-musl \
    -static "${WARN[@]}" -O1 "$UNIT" $(platform_sources linux | sed "s|native/|$ROOT/native/|g") \
    -o "$OUT/platform-unit"; then
    pushd "$OUT" >/dev/null && step RAN "x86_64-linux-musl platform-unit" ./platform-unit
    popd >/dev/null || true
  fi
else
  echo "SKIPPED x86_64-linux-musl platform-unit link and run (test/cross/platform-unit.cc not in this checkout)"
  skipped=$((skipped + 1))
fi

echo "== public headers, clang in MSVC-compatibility mode (not MSVC)"
# -fgnuc-version: the mingw-w64 C headers zig carries refuse a compiler without __GNUC__ (as
# clang's MSVC mode is); it does not change how our headers are parsed, and
# MEMORYVIEW_PORTABLE_OVERFLOW forces the path that real MSVC, which lacks the builtins, takes.
MSVC=(-target x86_64-windows-gnu -fms-extensions -fms-compatibility -fms-compatibility-version=19.30
  -fgnuc-version=4.2.1)
step COMPILED "msvc-compat headers (builtin overflow)" "$ZIG" c++ "${MSVC[@]}" "${WARN[@]}" -pedantic \
  "${DEFINES[@]}" -I"$ROOT/include" -I"$NAPI_INC" -I"$NODE_INC" -c "$HEADER_TU" -o "$OUT/x.o"
step COMPILED "msvc-compat headers (portable overflow, as MSVC)" "$ZIG" c++ "${MSVC[@]}" "${WARN[@]}" \
  -pedantic -DMEMORYVIEW_PORTABLE_OVERFLOW "${DEFINES[@]}" -I"$ROOT/include" -I"$NAPI_INC" \
  -I"$NODE_INC" -c "$HEADER_TU" -o "$OUT/x.o"
for src in "$ROOT"/test/fixtures/consumer/*.cc; do
  step COMPILED "msvc-compat test/fixtures/consumer/$(basename "$src") (portable overflow)" "$ZIG" c++ \
    "${MSVC[@]}" "${WARN[@]}" "${CONSUMER[@]}" -DMEMORYVIEW_PORTABLE_OVERFLOW "${DEFINES[@]}" -I"$ROOT/include" \
    -I"$NAPI_INC" -I"$NODE_INC" -c "$src" -o "$OUT/x.o"
done

echo
echo "Only compile-checked: everything for x86_64-macos, aarch64-macos and aarch64-linux-musl, and the"
echo "MSVC-compatibility builds (clang, not MSVC). Run here: the x86_64-linux-musl platform unit test"
echo "(when present). Node headers: $NODE_INC; zig: $("$ZIG" version)."
if [[ $failed -gt 0 ]]; then echo "failed: ${failures[*]}"; fi
echo "macos.sh: $compiled compiled, $linked linked, $ran ran, $skipped skipped, $failed failed"
[[ $failed -eq 0 ]]
