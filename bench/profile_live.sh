#!/usr/bin/env bash
# bench/profile_live.sh - py-spy a gunicorn worker of `idp serve` while wrk loads /token
# (client_credentials, client_secret_basic), then print inclusive time per code area.
#
#   bench/profile_live.sh            # RS256, 10 s
#   ALG=ES256 DURATION=8 bench/profile_live.sh
#   REV=HEAD bench/profile_live.sh   # a clean snapshot of a revision (see snapshot.sh)
#
# Needs: py-spy (pip install py-spy), wrk, curl. Loopback only; bounded.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ALG="${ALG:-RS256}"
DURATION="${DURATION:-10}"
command -v py-spy >/dev/null || { echo "py-spy not found: pip install py-spy" >&2; exit 2; }

WORK="$(mktemp -d -t idp-prof.XXXXXX)"
source "$HERE/snapshot.sh"
use_snapshot "$WORK/src"
PID=""
cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  [[ "${KEEP:-0}" == 1 ]] && echo "# kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export IDP_DATABASE_URL="sqlite:///$WORK/idp.db" IDP_KEYS_DIR="$WORK/keys" IDP_PORT="$PORT" \
  IDP_HOST=127.0.0.1 IDP_ISSUER="http://127.0.0.1:$PORT" IDP_WORKERS=2
cd "$WORK"
idp db upgrade >"$WORK/upgrade.log" 2>&1 || { tail -5 "$WORK/upgrade.log" >&2; exit 1; }
read -r ID SECRET < <(idp clients create --name prof --grant-type client_credentials \
  --scope api:read --token-alg "$ALG" --json | tail -n1 \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["client_id"], d["client_secret"])')
idp serve >"$WORK/idp.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
export BENCH_BASIC="$(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)"
wrk -t2 -c8 -d2s -s "$HERE/token.lua" "http://127.0.0.1:$PORT/token" >/dev/null
WORKER="$(pgrep -P "$PID" | head -n1)"
wrk -t2 -c8 -d"$((DURATION + 2))s" --latency -s "$HERE/token.lua" "http://127.0.0.1:$PORT/token" >"$WORK/wrk.txt" &
WRK=$!
sleep 1
py-spy record --pid "$WORKER" --duration "$DURATION" --rate 250 --gil --format raw \
  --output "$WORK/stacks.txt" --nonblocking >/dev/null 2>&1 || \
py-spy record --pid "$WORKER" --duration "$DURATION" --rate 250 --gil --format raw --output "$WORK/stacks.txt" >/dev/null
wait "$WRK"
grep -E 'Requests/sec|99%' "$WORK/wrk.txt"
python3 "$HERE/stack_summary.py" "$WORK/stacks.txt"
cp "$WORK/stacks.txt" "${STACKS_OUT:-/dev/null}"
