#!/usr/bin/env bash
# Windows checks that can run on this Linux machine (issue 12):
#   1. the platform.h unit test (test/cross/platform-unit.cc), built natively
#      with the POSIX layer and run, and its errno table compared with
#      libuv's names (Node's util.getSystemErrorName) on Linux;
#   2. the same unit test built for Windows with mingw-w64 against
#      native/platform_win32.cc and run under Wine;
#   3. every native/*.cc of the addon except the other OSes' platform files
#      compiled (-c only) for Windows with mingw-w64 against Node's headers.
# The addon itself cannot be linked for Windows here (that needs node.lib
# from a Windows Node distribution and MSVC's link), so it is not loaded in
# a Windows Node; this script says so.
#
# Needs: g++, node, x86_64-w64-mingw32-g++-posix and wine (Debian packages
# g++-mingw-w64-x86-64-posix and wine). Without mingw-w64 or wine it prints
# what it skipped and exits 77 (the usual "skipped" status); any failure
# exits 1; everything run and passed exits 0.
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
work=$(mktemp -d /tmp/memoryview-win.XXXXXX)
status=0
ran=()
skipped=()
failed=()

cleanup() {
  if [ -n "${WINEPREFIX:-}" ] && [ -d "$WINEPREFIX" ] && command -v wineserver >/dev/null; then
    WINEPREFIX="$WINEPREFIX" wineserver -k >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

note() { printf '\n== %s\n' "$*"; }

# The Linux build of the platform layer, as binding.gyp has it.
posix_sources=(native/platform_posix.cc native/platform_linux.cc)

note "1. platform unit test, natively (Linux, ${posix_sources[*]})"
if g++ -std=c++17 -Wall -Wextra -O1 -pthread test/cross/platform-unit.cc \
    "${posix_sources[@]}" -o "$work/unit-linux"; then
  if "$work/unit-linux"; then
    ran+=("platform unit test, Linux native: passed")
  else
    failed+=("platform unit test, Linux native")
  fi
else
  failed+=("platform unit test, Linux native: does not compile")
fi

note "1b. errno table (native/errno_compat.h) against libuv's names on Linux"
if [ -x "$work/unit-linux" ]; then
  "$work/unit-linux" --errno > "$work/errno.txt"
  # ESTALE: libuv has no name for it ("Unknown system error -116"); the
  # table's name is the POSIX one.
  if node -e '
    const util = require("node:util")
    const lines = require("node:fs").readFileSync(process.argv[1], "utf8").trim().split("\n")
    let bad = 0
    for (const line of lines) {
      const [value, name] = line.split(" ")
      const uv = util.getSystemErrorName(-Number(value))
      const ok = name === "ESTALE" ? /Unknown/.test(uv) : uv === name
      if (!ok) { bad++; console.log(`MISMATCH ${value}: table ${name}, libuv ${uv}`) }
    }
    console.log(`${lines.length} entries compared, ${bad} mismatches`)
    process.exit(bad ? 1 : 0)
  ' "$work/errno.txt"; then
    ran+=("errno table agrees with libuv on Linux")
  else
    failed+=("errno table disagrees with libuv on Linux")
  fi
else
  skipped+=("errno table check: the native unit test did not build")
fi

mingw=x86_64-w64-mingw32-g++-posix
have_mingw=1
command -v "$mingw" >/dev/null || have_mingw=0
have_wine=1
command -v wine >/dev/null || have_wine=0

note "2. platform unit test for Windows (mingw-w64, platform_win32.cc) under Wine"
if [ $have_mingw = 0 ]; then
  skipped+=("Windows unit test: $mingw not installed (apt-get install g++-mingw-w64-x86-64-posix)")
elif ! "$mingw" -std=c++17 -Wall -Wextra -O1 -static -static-libgcc -static-libstdc++ \
    test/cross/platform-unit.cc native/platform_win32.cc -o "$work/unit.exe" -lsynchronization; then
  failed+=("Windows unit test: does not compile with mingw-w64")
elif [ $have_wine = 0 ]; then
  skipped+=("Windows unit test: built, but wine is not installed, so not run")
else
  export WINEPREFIX="$work/wineprefix" WINEDEBUG=-all
  # A fresh prefix prints its own set-up chatter on stderr; the test's
  # output is stdout. The timeout bounds a wait that never ends.
  if timeout 300 wine "$work/unit.exe" 2>"$work/wine-stderr.txt"; then
    ran+=("platform unit test, Windows (mingw-w64) under $(wine --version): passed")
  else
    failed+=("platform unit test, Windows under Wine (see the FAIL lines above)")
    tail -5 "$work/wine-stderr.txt"
  fi
fi

note "3. the addon's sources compiled for Windows (-c only)"
node_include=""
version=$(node -p 'process.version.slice(1)')
for candidate in "$HOME/.cache/node-gyp/$version/include/node" \
    "$(node -p 'process.config.variables.nodedir || ""')/include/node" \
    /usr/include/node; do
  if [ -f "$candidate/node_api.h" ]; then node_include=$candidate; break; fi
done
napi_include=$(node -p "require('node-addon-api').include_dir" 2>/dev/null)
if [ $have_mingw = 0 ]; then
  skipped+=("addon sources for Windows: $mingw not installed")
elif [ -z "$node_include" ] || [ ! -f "$root/$napi_include/napi.h" ]; then
  skipped+=("addon sources for Windows: Node's headers or node-addon-api not found")
else
  echo "Node headers: $node_include; node-addon-api: $napi_include"
  compiled=0
  for source in native/*.cc; do
    case "$(basename "$source")" in
      platform_posix.cc | platform_linux.cc | platform_darwin.cc) continue ;;
    esac
    # binding.gyp's defines, plus what its Windows condition sets.
    if "$mingw" -std=c++17 -Wall -Wextra -c "$source" -o "$work/$(basename "$source").o" \
        -I"$node_include" -I"$root/$napi_include" \
        -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED \
        -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS \
        -DWIN32_LEAN_AND_MEAN -DNOMINMAX -DUNICODE -D_UNICODE; then
      echo "compiled $source"
      compiled=$((compiled + 1))
    else
      failed+=("$source does not compile for Windows")
    fi
  done
  ran+=("$compiled addon sources compiled for Windows with mingw-w64 (-c only)")
fi
skipped+=("linking and loading the addon on Windows: needs node.lib and a Windows Node, not available here")

note "Summary (Windows checks)"
for line in "${ran[@]}"; do echo "RAN     $line"; done
for line in "${skipped[@]}"; do echo "SKIPPED $line"; done
for line in "${failed[@]+"${failed[@]}"}"; do echo "FAILED  $line"; done
if [ ${#failed[@]} -gt 0 ]; then
  status=1
elif [ $have_mingw = 0 ] || [ $have_wine = 0 ]; then
  status=77
fi
exit $status
