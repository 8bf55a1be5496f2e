#!/usr/bin/env bash
# bench/peer.sh - the same client_credentials load against our /token and against node
# oidc-provider, via the shared peer script (/work/shared/bench/peer-bench.sh, see its header).
#
#   bench/peer.sh                          # c=8, 10 s, RS256, 2 workers on both sides
#   ALG=ES256 CONCURRENCY="1 8 32" bench/peer.sh
#   REV=HEAD bench/peer.sh                 # a clean snapshot of a revision (see snapshot.sh)
#   PEER_BENCH=/path/to/peer-bench.sh bench/peer.sh
#
# Needs node >= 20 + npm (the peer installs oidc-provider on first run), wrk, curl.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEER_BENCH="${PEER_BENCH:-$HERE/../../shared/bench/peer-bench.sh}"
ALG="${ALG:-RS256}"
export CONCURRENCY="${CONCURRENCY:-8}" DURATION="${DURATION:-10s}" THREADS="${THREADS:-2}"
[[ -x "$PEER_BENCH" || -f "$PEER_BENCH" ]] || { echo "peer script not found: $PEER_BENCH" >&2; exit 2; }

WORK="$(mktemp -d -t idp-peer.XXXXXX)"
PID=""
cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
source "$HERE/snapshot.sh"
use_snapshot "$WORK/src"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export IDP_DATABASE_URL="sqlite:///$WORK/idp.db" IDP_KEYS_DIR="$WORK/keys" IDP_PORT="$PORT" \
  IDP_HOST=127.0.0.1 IDP_ISSUER="http://127.0.0.1:$PORT" IDP_WORKERS="${IDP_WORKERS:-2}"
cd "$WORK"
idp db upgrade >"$WORK/upgrade.log" 2>&1 || { tail -5 "$WORK/upgrade.log" >&2; exit 1; }
read -r ID SECRET < <(idp clients create --name peer --grant-type client_credentials \
  --scope api:read --token-alg "$ALG" --json | tail -n1 \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["client_id"], d["client_secret"])')
idp serve >"$WORK/idp.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done

echo "## ours: idp ($BENCH_SRC), $IDP_WORKERS gunicorn workers, $ALG"
TARGET_TOKEN_URL="http://127.0.0.1:$PORT/token" TARGET_CLIENT_ID="$ID" TARGET_CLIENT_SECRET="$SECRET" \
  TARGET_TOKEN_BODY="grant_type=client_credentials&scope=api%3Aread" bash "$PEER_BENCH" | tee "$WORK/ours.txt"
kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""

echo "## theirs: node oidc-provider, ${PEER_WORKERS:-2} cluster workers, $ALG"
ALG="$ALG" WORKERS="${PEER_WORKERS:-2}" PORT="${PEER_PORT:-3000}" bash "$PEER_BENCH" | tee "$WORK/theirs.txt"

ours="$(awk '/^client_credentials/ {print $3; exit}' "$WORK/ours.txt")"
theirs="$(awk '/^client_credentials/ {print $3; exit}' "$WORK/theirs.txt")"
awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "## ours/theirs (first concurrency): %.0f / %.0f req/s = %.2f\n", a, b, a / b }'
