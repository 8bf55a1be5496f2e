#!/usr/bin/env bash
# bench/peer_rounds.sh - ours against node oidc-provider in ONE run: both servers up side by
# side (each idles while the other is loaded), rounds alternate ours / theirs for
# client-credentials RS256, ES256 and introspection; median of the rounds, ratio per round.
#
#   bench/peer_rounds.sh                      # 3 rounds, wrk -t2 -c8 -d10s, 2 workers each
#   ROUNDS=5 DURATION=5s bench/peer_rounds.sh
#   REV=HEAD bench/peer_rounds.sh             # a clean snapshot of a revision (snapshot.sh)
#   IDP_DATABASE_URL=postgresql+psycopg://... IDP_REDIS_URL=redis://... bench/peer_rounds.sh
#   PEER_DIR=/path/to/peer-node-oidc-provider (with node_modules installed; default: the
#   shared one, /work/shared/bench/peer-node-oidc-provider)
#
# Introspection: oidc-provider only introspects opaque tokens, kept in memory per cluster
# worker, so with 2 workers about half its answers are {"active": false} (cheaper for it);
# ours introspects our JWT (always active). The comparison is therefore conservative.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEER_DIR="${PEER_DIR:-$HERE/../../shared/bench/peer-node-oidc-provider}"
ROUNDS="${ROUNDS:-3}" THREADS="${THREADS:-2}" CONNS="${CONNS:-8}"
DURATION="${DURATION:-10s}" WARMUP="${WARMUP:-2s}"
command -v wrk >/dev/null || { echo "wrk not found" >&2; exit 2; }
[[ -d "$PEER_DIR/node_modules/oidc-provider" ]] || {
  echo "no $PEER_DIR/node_modules: (cd $PEER_DIR && npm install --no-package-lock)" >&2; exit 2; }

WORK="$(mktemp -d -t idp-peer-rounds.XXXXXX)"
PIDS=()
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap stop_all EXIT
trap 'exit 130' INT TERM
source "$HERE/snapshot.sh"
use_snapshot "$WORK/src"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }

# --- ours ---------------------------------------------------------------------------
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
export IDP_DATABASE_URL="${IDP_DATABASE_URL:-sqlite:///$WORK/idp.db}" IDP_KEYS_DIR="$WORK/keys" \
  IDP_PORT="$PORT" IDP_HOST=127.0.0.1 IDP_ISSUER="$BASE" IDP_WORKERS="${IDP_WORKERS:-2}"
cd "$WORK"
idp db upgrade >"$WORK/upgrade.log" 2>&1 || { tail -5 "$WORK/upgrade.log" >&2; exit 1; }
client() { idp clients create --name "peer-$1" --grant-type client_credentials --scope api:read \
  --token-alg "$1" --json | tail -n1 \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["client_id"] + ":" + d["client_secret"])'; }
RS_CRED="$(client RS256)"; ES_CRED="$(client ES256)"
idp serve >"$WORK/idp.log" 2>&1 &
OURS=$!
PIDS+=($OURS)
wait_up "$BASE/healthz"
OUR_TOKEN="$(curl -s -u "$RS_CRED" -d 'grant_type=client_credentials&scope=api%3Aread' "$BASE/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

# --- theirs: one oidc-provider per algorithm (ALG is per process), 2 cluster workers each
PEER_ID="bench-client" PEER_SECRET="bench-secret-0123456789abcdef0123456789abcdef"
declare -A PEER_URL PEER_PID
for alg in RS256 ES256; do
  p="$(free_port)"
  (cd "$PEER_DIR" && exec env HOST=127.0.0.1 PORT="$p" ALG="$alg" WORKERS="${PEER_WORKERS:-2}" \
    node server.mjs) >"$WORK/peer-$alg.log" 2>&1 &
  PIDS+=($!)
  PEER_PID[$alg]=$!
  PEER_URL[$alg]="http://127.0.0.1:$p"
  wait_up "http://127.0.0.1:$p/.well-known/openid-configuration"
done
PEER_OPAQUE="$(curl -s -u "$PEER_ID:$PEER_SECRET" -d grant_type=client_credentials \
  -d resource=urn:bench:opaque -d scope=api:read "${PEER_URL[RS256]}/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

b64() { printf '%s' "$1" | base64 -w0; }
CC_BODY="grant_type=client_credentials&scope=api%3Aread"
declare -A RPS P99 CPU
tree_ticks() { # utime+stime of a process and its direct children (gunicorn / cluster workers)
  local t=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
HZ="$(getconf CLK_TCK)"
run() { # name url basic body server-pid
  local lua="$WORK/$1.lua" out="$WORK/$1.txt" t0 t1
  printf 'wrk.method = "POST"\nwrk.body = "%s"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Authorization"] = "Basic %s"\n' \
    "$4" "$3" >"$lua"
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$lua" "$2" >/dev/null 2>&1 || true
  t0="$(tree_ticks "$5")"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$lua" "$2" >"$out" 2>&1
  t1="$(tree_ticks "$5")"
  # server CPU per answered request: less sensitive than req/s to what else the
  # machine runs (a loaded machine slows both servers, it hardly changes their work)
  CPU[$1]="$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="$(awk '/requests in/ {print $1}' "$out")" \
    'BEGIN { printf "%.0f", (b - a) / hz * 1e6 / n }')"
  RPS[$1]="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
  P99[$1]="$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) sub(/ms$/,"",v); else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}' "$out")"
  local non2xx; non2xx="$(awk '/Non-2xx/ {print $NF}' "$out")"
  printf '  %-26s %7s req/s  p99 %7s ms  %5s us CPU/req  non-2xx %s\n' "$1" "${RPS[$1]}" "${P99[$1]}" \
    "${CPU[$1]}" "${non2xx:-0}"
}

echo "# ours: idp ($BENCH_SRC) on ${IDP_DATABASE_URL%%:*}, $IDP_WORKERS workers; theirs: oidc-provider" \
  "$(node -p "require('$PEER_DIR/node_modules/oidc-provider/package.json').version") on node $(node --version)," \
  "${PEER_WORKERS:-2} workers; wrk -t$THREADS -c$CONNS -d$DURATION; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r"
  run "ours_rs256#$r" "$BASE/token" "$(b64 "$RS_CRED")" "$CC_BODY" "$OURS"
  run "theirs_rs256#$r" "${PEER_URL[RS256]}/token" "$(b64 "$PEER_ID:$PEER_SECRET")" \
    "grant_type=client_credentials" "${PEER_PID[RS256]}"
  run "ours_es256#$r" "$BASE/token" "$(b64 "$ES_CRED")" "$CC_BODY" "$OURS"
  run "theirs_es256#$r" "${PEER_URL[ES256]}/token" "$(b64 "$PEER_ID:$PEER_SECRET")" \
    "grant_type=client_credentials" "${PEER_PID[ES256]}"
  run "ours_introspect#$r" "$BASE/introspect" "$(b64 "$RS_CRED")" \
    "token=$OUR_TOKEN&token_type_hint=access_token" "$OURS"
  run "theirs_introspect#$r" "${PEER_URL[RS256]}/token/introspection" \
    "$(b64 "$PEER_ID:$PEER_SECRET")" "token=$PEER_OPAQUE" "${PEER_PID[RS256]}"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
printf '%-12s %11s %11s %11s %11s %11s %11s %7s %9s\n' what "ours req/s" "ours p99" "ours us/req" \
  "theirs req/s" "theirs p99" "theirs us/req" ratio "cpu ratio"
for k in rs256 es256 introspect; do
  o="$(for r in $(seq 1 "$ROUNDS"); do echo "${RPS[ours_$k#$r]}"; done | median)"
  t="$(for r in $(seq 1 "$ROUNDS"); do echo "${RPS[theirs_$k#$r]}"; done | median)"
  op="$(for r in $(seq 1 "$ROUNDS"); do echo "${P99[ours_$k#$r]}"; done | median)"
  tp="$(for r in $(seq 1 "$ROUNDS"); do echo "${P99[theirs_$k#$r]}"; done | median)"
  oc="$(for r in $(seq 1 "$ROUNDS"); do echo "${CPU[ours_$k#$r]}"; done | median)"
  tc="$(for r in $(seq 1 "$ROUNDS"); do echo "${CPU[theirs_$k#$r]}"; done | median)"
  ratio="$(for r in $(seq 1 "$ROUNDS"); do awk -v a="${RPS[ours_$k#$r]}" -v b="${RPS[theirs_$k#$r]}" 'BEGIN {printf "%.2f\n", a/b}'; done | median)"
  cratio="$(for r in $(seq 1 "$ROUNDS"); do awk -v a="${CPU[ours_$k#$r]}" -v b="${CPU[theirs_$k#$r]}" 'BEGIN {printf "%.2f\n", b/a}'; done | median)"
  printf '%-12s %11s %11s %11s %11s %11s %11s %7s %9s\n' "$k" "$o" "$op" "$oc" "$t" "$tp" "$tc" "$ratio" "$cratio"
done
echo "# medians of $ROUNDS rounds; ratio = median of per-round ours/theirs req/s;"
echo "# cpu ratio = median of per-round theirs/ours server CPU per request (>1: we spend less)"
echo "# load after $(cut -d' ' -f1-3 /proc/loadavg)"
