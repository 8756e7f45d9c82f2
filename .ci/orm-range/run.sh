#!/usr/bin/env bash
# The supported MikroORM range (peerDependencies) checked the way a host meets it: pack this package, install
# the tarball into a fresh host project next to @mikro-orm/{core,postgresql,migrations}@<version>, and run
# host.mjs (the host opens its own ORM with our entities and migrations, migrates, syncs, checks the ledger).
# Versions: the lowest and the highest release of the range (or the ones given as arguments). Then a fresh
# `npm i <tarball>` with no MikroORM of its own must give a working `npx hh-sync --help` (npm installs peers).
# Needs the registry (network) and DATABASE_URL; not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DATABASE_URL:?DATABASE_URL must name a PostgreSQL server}"

range=$(node -p "require('./package.json').peerDependencies['@mikro-orm/core']")
if [ "$#" -gt 0 ]; then
  versions=("$@")
else
  # The releases the range admits that all four packages have (a release can be half-published, or half
  # mirrored: @mikro-orm/postgresql X needs @mikro-orm/knex X), sorted; test the oldest and the newest.
  mapfile -t versions < <(for p in core postgresql migrations knex; do npm view "@mikro-orm/$p@${range}" version --json; done | node .ci/orm-range/range-ends.mjs)
fi
echo "== MikroORM peer range ${range}: checking ${versions[*]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/hh-orm-range.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "${ORM_RANGE_TARBALL:-}" ]; then
  # Packed by the caller (.ci/run packs before the tests rebuild dist, then runs this beside them).
  tarball="$ORM_RANGE_TARBALL"
else
  [ -f dist/src/index.js ] || npm run build
  # --ignore-scripts: pack what the build made (prepare would rebuild).
  tarball="$work/$(npm pack --ignore-scripts --silent --pack-destination "$work" | tail -n1)"
fi

host_project() {
  mkdir -p "$1"
  printf '{ "name": "hh-host", "version": "0.0.0", "private": true, "type": "module" }\n' > "$1/package.json"
}

for v in "${versions[@]}"; do
  echo "== host with @mikro-orm/*@${v}"
  dir="$work/host-$v"
  host_project "$dir"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$tarball" \
    "@mikro-orm/core@$v" "@mikro-orm/postgresql@$v" "@mikro-orm/migrations@$v")
  cp .ci/orm-range/host.mjs "$dir/"
  (cd "$dir" && node host.mjs)
done

echo "== fresh install of the tarball alone: npm brings the peers, the CLI runs"
dir="$work/cli"
host_project "$dir"
if ! (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$tarball" 2> npm-error.txt); then
  cat "$dir/npm-error.txt" >&2
  # Only a registry that lacks part of a MikroORM release is worked around, visibly: the peers are then
  # pinned to the newest complete release. Any other failure fails the check.
  grep -q 'notarget No matching version found for @mikro-orm/' "$dir/npm-error.txt"
  echo "!!  the registry lacks part of the newest @mikro-orm release; installing the peers at ${versions[-1]}"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$tarball" \
    "@mikro-orm/core@${versions[-1]}" "@mikro-orm/postgresql@${versions[-1]}" "@mikro-orm/migrations@${versions[-1]}")
fi
(cd "$dir" && npx --no-install hh-sync --help > help.txt)
grep -q 'Usage: hh-sync' "$dir/help.txt"
echo "ok  npx hh-sync --help (with @mikro-orm/core $(node -p "require('$dir/node_modules/@mikro-orm/core/package.json').version"))"
