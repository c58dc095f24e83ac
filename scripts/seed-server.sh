#!/usr/bin/env bash
# The TypeScript server rtm replaces (the "seed": packages/server of realtime-ai/realtime-mesage at
# commit 88f9f14, socket.io + ioredis), for the side-by-side benchmark (scripts/bench.sh seed).
#
#   scripts/seed-server.sh                        fetch and build it (nothing when already built)
#   scripts/seed-server.sh start PORT REDIS_URL   run the built server (exec: the caller's $! is
#                                                 node's pid); it logs "Module registered: presence"
#                                                 once it is subscribed to its presence events
#
# The repository is cloned from $SEED_REPO (default https://github.com/realtime-ai/realtime-mesage.git)
# into target/seed/repo when absent; SEED_REPO may be any git URL or path, for example a local
# mirror (a bare repository) that holds the commit: SEED_REPO=/path/to/mirror scripts/bench.sh seed.
# (To take another one, remove target/seed.) The seed is a pnpm workspace: packages/server
# is copied alone to target/seed/server and built there with npm, its package.json replaced by
# tests/bench-node/seed/package.json (and that package-lock.json): the same dependencies at the
# versions of the seed's pnpm-lock.yaml, without the workspace-only devDependencies (the SDK as
# `workspace:*`, test mocks, ts-node), plus the compiler and Node types the workspace root gave
# it. Its tsconfig.json extends ../../tsconfig.base.json: the root's copy is put beside it. Its
# src/test-utils (the tests' helpers, on ioredis-mock, socket.io-client and vitest, which its build
# compiles too although the server never imports them) is left out. Nothing else is changed. target/seed/server/.built records what was built (the
# commit and the pinned package files' checksum); a later run with the same skips everything.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_url=${SEED_REPO:-https://github.com/realtime-ai/realtime-mesage.git}
commit=88f9f148c2c33f61408857d2111e7206f2f75309 # 88f9f14
root=target/seed
pins=tests/bench-node/seed

if [ "${1:-}" = start ]; then
  [ $# -eq 3 ] || { echo "usage: scripts/seed-server.sh start PORT REDIS_URL" >&2; exit 2; }
  [ -f "$root/server/dist/server.js" ] || { echo "the seed is not built: run scripts/seed-server.sh" >&2; exit 1; }
  cd "$root/server"
  # The seed reads its settings from the environment (src/config.ts), and .env through dotenv:
  # there is none in target/seed/server. Presence TTL 30 s and reaper every 3 s are its defaults.
  PORT=$2 REDIS_URL=$3 exec node dist/server.js
fi
[ $# -eq 0 ] || { echo "usage: scripts/seed-server.sh [start PORT REDIS_URL]" >&2; exit 2; }

stamp="$commit $(cat "$pins/package.json" "$pins/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ -f "$root/server/dist/server.js" ] && [ "$(cat "$root/server/.built" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

mkdir -p "$root"
if [ ! -d "$root/repo/.git" ]; then
  echo "cloning the seed from $repo_url" >&2
  rm -rf "$root/repo"
  git clone -q --no-checkout "$repo_url" "$root/repo"
fi
if ! git -C "$root/repo" cat-file -e "$commit^{commit}" 2>/dev/null; then
  git -C "$root/repo" fetch -q origin
fi
git -C "$root/repo" -c advice.detachedHead=false checkout -q --detach "$commit"

echo "building the seed server (${commit:0:7}) in $root/server" >&2
rm -rf "$root/server"
cp -r "$root/repo/packages/server" "$root/server"
rm -rf "$root/server/src/test-utils"
cp "$root/repo/tsconfig.base.json" "$root/server/tsconfig.base.json"
sed -i 's|"extends": "../../tsconfig.base.json"|"extends": "./tsconfig.base.json"|' "$root/server/tsconfig.json"
grep -q '"extends": "./tsconfig.base.json"' "$root/server/tsconfig.json" ||
  { echo "the seed's tsconfig.json no longer extends ../../tsconfig.base.json" >&2; exit 1; }
cp "$pins/package.json" "$pins/package-lock.json" "$root/server/"
(cd "$root/server" && npm ci --silent --no-audit --no-fund >/dev/null && npm run --silent build)
echo "$stamp" >"$root/server/.built"
