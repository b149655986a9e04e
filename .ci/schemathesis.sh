#!/usr/bin/env bash
# schemathesis against our two servers, driven by the generated OpenAPI documents:
#   - the simulator (`hasdata sim`): no 5xx on any input, every answer's status and body as
#     openapi/hasdata-jobs.json describes them, for every slug;
#   - the webhook receiver (`hasdata webhook listen`): any input gets a documented answer
#     (4xx, 2xx, or 503 when its consumer is behind), never a hang (request timeout) or a 500.
# Bounded examples and a fixed seed keep it inside CI's budget and repeatable.
# Usage: .ci/schemathesis.sh [path/to/hasdata]   (default: target/debug/hasdata)
set -euo pipefail
cd "$(dirname "$0")/.."

HASDATA=${1:-target/debug/hasdata}
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-20}
SEED=${SCHEMATHESIS_SEED:-20261129}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 -m pip install --quiet --disable-pip-version-check "schemathesis>=4.3,<5"

# Waits for a line with an http URL in FILE and prints the URL.
wait_for_url() {
  local file=$1
  for _ in $(seq 1 300); do
    if url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$file" | head -1) && [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    sleep 0.1
  done
  echo "no URL appeared in $file:" >&2
  cat "$file" >&2
  return 1
}

run_schemathesis() {
  schemathesis run "$@" \
    --max-examples "$EXAMPLES" --seed "$SEED" --generation-deterministic \
    --request-timeout 10 -w 1 --no-color
}

echo "-- schemathesis: the simulator"
"$HASDATA" sim --port 0 --api-key demo --job-duration 1 --max-running 1000000 \
  >"$WORK/sim.out" 2>&1 &
PIDS+=($!)
SIM_URL=$(wait_for_url "$WORK/sim.out")
run_schemathesis openapi/hasdata-jobs.json --url "$SIM_URL" -H "x-api-key: demo" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance

echo "-- schemathesis: the webhook receiver"
SECRET="ci-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"$HASDATA" webhook listen --port 0 --secret-header "x-hook-secret:$SECRET" \
  >/dev/null 2>"$WORK/listen.err" &
PIDS+=($!)
HOOK_URL=$(wait_for_url "$WORK/listen.err")
run_schemathesis openapi/webhook-receiver.json --url "$HOOK_URL" -H "x-hook-secret: $SECRET" \
  --checks not_a_server_error,status_code_conformance
