#!/usr/bin/env bash
# A crate outside the workspace that depends on hasdata-jobs alone (tests/external-crate/)
# submits, waits and reads rows from `hasdata sim`, recording into a ledger file; then
# `hasdata jobs list --json` on the same file must show its job as the CLI shows its own:
# finished, its rows and credits counted, collected. The crate is built with the
# workspace's Cargo.lock (copied, then pruned offline: the same versions, nothing resolved anew).
# Usage: .ci/external-crate.sh [path/to/hasdata]   (default: target/debug/hasdata)
set -euo pipefail
cd "$(dirname "$0")/.."

HASDATA=$(realpath "${1:-target/debug/hasdata}")
WORK=$(mktemp -d)
SIM_PID=
cleanup() {
  if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
  rm -f tests/external-crate/Cargo.lock
}
trap cleanup EXIT

cp Cargo.lock tests/external-crate/Cargo.lock
# The workspace's target directory: the shared dependencies are built once.
cargo build --quiet --offline --manifest-path tests/external-crate/Cargo.toml \
  --target-dir target

"$HASDATA" sim --port 0 --api-key external-demo --job-duration 1 >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
SIM_URL=
for _ in $(seq 1 300); do
  SIM_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/sim.out" | head -1 || true)
  [ -n "$SIM_URL" ] && break
  sleep 0.1
done
[ -n "$SIM_URL" ] || { echo "the simulator printed no URL:" >&2; cat "$WORK/sim.out" >&2; exit 1; }

export HASDATA_API_KEY=external-demo HASDATA_BASE_URL="$SIM_URL"
LEDGER="$WORK/ledger.sqlite"
OUT=$(target/debug/hasdata-external-user "$LEDGER")
echo "external crate: $OUT"
ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$OUT")
ROWS=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rows"])' "$OUT")
[ "$ROWS" = 2 ] || { echo "expected 2 rows, got $ROWS" >&2; exit 1; }

LIST=$("$HASDATA" --json --ledger "$LEDGER" jobs list)
echo "$LIST"
python3 - "$ID" "$LIST" <<'PY'
import json, sys
wanted, listing = sys.argv[1], sys.argv[2]
entries = {}
for line in listing.splitlines():
    line = line.strip()
    if not line:
        continue
    entry = json.loads(line)
    entries[str(entry.get("id", entry.get("jobId")))] = entry
entry = entries.get(wanted)
if entry is None:
    sys.exit(f"job {wanted} is not in `hasdata jobs list`: {sorted(entries)}")
# What the CLI shows for a job it submitted, waited on and wrote out itself.
problems = []
if entry.get("status") != "finished":
    problems.append(f"status {entry.get('status')!r}, not 'finished'")
if entry.get("dataRowsCount") != 2:
    problems.append(f"dataRowsCount {entry.get('dataRowsCount')!r}, not 2")
if not entry.get("creditsSpent"):
    problems.append(f"creditsSpent {entry.get('creditsSpent')!r}, not counted")
if not entry.get("collectedTo"):
    problems.append(f"not collected (collectedTo {entry.get('collectedTo')!r})")
if problems:
    sys.exit(f"job {wanted} in `hasdata jobs list`: " + "; ".join(problems) + f"\n{entry}")
print(f"hasdata jobs list shows job {wanted} finished, 2 rows, collected to {entry['collectedTo']}")
PY
