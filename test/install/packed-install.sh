#!/usr/bin/env bash
# Installs relctl the way a user does: npm pack, then npm install -g of the tarball into a throwaway
# prefix with a throwaway HOME, and checks that the relctl on PATH works: --version, --help, and an API
# command against a control plane started from the installed package, the second time through the code
# cache the first run wrote into the default cache dir. A script rather than a vitest
# test, so that the normal suite stays fast; .ci/run runs it as its own step.
# Needs the build (npm run build). better-sqlite3 compiles against the Node headers in /usr when no
# prebuilt binary can be fetched (npm_config_nodedir); the npm cache of the job's npm ci serves the rest.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
work="$(mktemp -d "${TMPDIR:-/tmp}/relctl-packed-install.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "packed-install: $*" >&2
  exit 1
}

cache="$(npm config get cache)"
tarball="$(npm pack --silent --pack-destination "$work")"
echo "packed $tarball: $(tar -tzf "$work/$tarball" | wc -l) files"
if tar -tzf "$work/$tarball" | grep -Ev '^package/(bin/|dist/|oclif\.manifest\.json$|README\.md$|LICENSE$|package\.json$)'; then
  fail "the tarball ships files beyond bin, dist, oclif.manifest.json, README.md and LICENSE (listed above)"
fi

# No prebuilt binary can be downloaded here: build better-sqlite3 from source at once instead of trying.
export HOME="$work/home" npm_config_cache="$cache" npm_config_nodedir="${npm_config_nodedir:-/usr}" npm_config_build_from_source=true
mkdir -p "$HOME"
npm install --global --prefix "$work/prefix" --prefer-offline --no-audit --no-fund --loglevel=error "$work/$tarball"
export PATH="$work/prefix/bin:$PATH"
unset RELCTL_URL RELCTL_TOKEN RELCTL_PROFILE RELCTL_PROJECT RELCTL_ENVIRONMENT RELCTL_CACHE_DIR
export RELCTL_CONFIG_DIR="$work/config"

[ "$(command -v relctl)" = "$work/prefix/bin/relctl" ] || fail "relctl is not on PATH from the prefix"
relctl --version | grep -q '^relctl/' || fail "relctl --version printed no version"
relctl --help | grep -q 'release' || fail "relctl --help lists no release topic"

# server start prints one JSON line once it listens, and writes the default profile into the config dir.
relctl server start --port 0 --data-dir "$work/data" --json --log-level error >"$work/server.out" &
server_pid=$!
for _ in $(seq 1 300); do
  [ -s "$work/server.out" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "the installed control plane exited before it listened"
  sleep 0.1
done
[ -s "$work/server.out" ] || fail "the installed control plane did not listen within 30s"
relctl whoami --json | grep -q '"serverVersion"' || fail "relctl whoami against the installed control plane failed"

# The runs above wrote the bundle's code cache; V8 accepts it (a refused one is removed) and whoami works through it.
caches=("$HOME"/.cache/relctl/code-cache/*.bin)
[ "${#caches[@]}" -eq 1 ] && [ -s "${caches[0]}" ] || fail "no code cache in $HOME/.cache/relctl/code-cache: ${caches[*]}"
cp "${caches[0]}" "$work/cache.before"
relctl whoami --json | grep -q '"serverVersion"' || fail "relctl whoami through the code cache failed"
cmp -s "${caches[0]}" "$work/cache.before" || fail "the code cache was refused or written again by the second run"
echo "packed-install: relctl from the tarball works (--version, --help, server start, whoami, whoami through the code cache)"
