#!/usr/bin/env bash
# bench/run.sh - machine-auth performance benchmark of `idp serve` against a signing-only
# "ceiling" app under the same gunicorn settings. Loopback only, every load run bounded.
#
#   bench/run.sh                       # defaults: wrk -t2 -c8 -d10s --latency, 3 rounds
#   ROUNDS=1 bench/run.sh              # one round (quicker, noisier)
#   DURATION=5s WARMUP=1s bench/run.sh
#   KEEP=1 bench/run.sh                # keep the temp dir (logs, raw wrk output)
#   REV=HEAD bench/run.sh              # benchmark a clean `git archive` of a revision
#
# Needs: wrk (apt-get install -y wrk), curl, the `idp` package installed (editable).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-8}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
KEEP="${KEEP:-0}"
ROUNDS="${ROUNDS:-3}"

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 2; }
command -v idp >/dev/null || { echo "idp not on PATH (pip install -e .)" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

WORK="$(mktemp -d -t idp-bench.XXXXXX)"
# shellcheck source=bench/snapshot.sh
source "$HERE/snapshot.sh"
use_snapshot "$WORK/src"
IDP_PID=""
CEIL_PID=""

stop_pid() { # graceful, then forceful; only the PIDs this script started
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  local kids; kids="$(pgrep -P "$pid" || true)"
  kill -KILL "$pid" $kids 2>/dev/null || true
}
cleanup() {
  stop_pid "$IDP_PID"
  stop_pid "$CEIL_PID"
  if [[ "$KEEP" == 1 ]]; then echo "# kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_healthy() { # url pid log
  for _ in $(seq 1 200); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "server exited:" >&2; cat "$3" >&2; exit 1; }
    sleep 0.1
  done
  echo "server did not become healthy: $1" >&2; cat "$3" >&2; exit 1
}

# wrk latency strings (850.00us, 1.23ms, 1.02s, 2.00m) -> milliseconds
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else print "?" }'
}

declare -A RPS P50 P99 ERRS
# CPU ticks (user + system) of each worker of a gunicorn master, space-separated.
worker_ticks() {
  local p
  for p in $(pgrep -P "$1" | sort -n); do awk '{printf "%d ", $14 + $15}' "/proc/$p/stat"; done
}
# How the run's CPU split between the workers, e.g. "52/48": gunicorn workers accept
# connections first come, first served, so wrk's 8 keep-alive connections sometimes all
# land on one worker and the run measures one core, not two. Shown so such a run is seen.
worker_split() {
  awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); split(b, y, " "); t = 0
    for (i = 1; i <= n; i++) { d[i] = y[i] - x[i]; t += d[i] }
    out = ""; for (i = 1; i <= n; i++) out = out (i > 1 ? "/" : "") (t > 0 ? int(100 * d[i] / t + 0.5) : 0)
    print out }'
}

# run_wrk NAME URL [LUA] [MASTER_PID]  (a warm-up run first, discarded)
run_wrk() {
  local name="$1" url="$2" lua="${3:-}" master="${4:-}"
  local args=(-t"$THREADS" -c"$CONNS" --latency)
  [[ -n "$lua" ]] && args+=(-s "$lua")
  wrk "${args[@]}" -d"$WARMUP" "$url" >"$WORK/wrk-$name-warmup.txt" 2>&1 || true
  local out="$WORK/wrk-$name.txt" before="" split=""
  [[ -n "$master" ]] && before="$(worker_ticks "$master")"
  wrk "${args[@]}" -d"$DURATION" "$url" >"$out" 2>&1
  [[ -n "$master" ]] && split="workers $(worker_split "$before" "$(worker_ticks "$master")")%"
  RPS[$name]="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
  P50[$name]="$(to_ms "$(awk '$1=="50%" {print $2}' "$out")")"
  P99[$name]="$(to_ms "$(awk '$1=="99%" {print $2}' "$out")")"
  local errs sock
  errs="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  sock="$(awk '/Socket errors:/ {print $0}' "$out")"
  ERRS[$name]="${errs:-0}"
  printf '  %-22s %8s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s  %s %s\n' "$name" "${RPS[$name]}" \
    "${P50[$name]}" "${P99[$name]}" "${ERRS[$name]}" "$split" "$sock"
}

rss_children_kb() { # sum of VmRSS of the direct children (gunicorn workers) of a PID
  local total=0 p n=0
  for p in $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    n=$((n + 1))
  done
  echo "$total $n"
}

# --- the provider -------------------------------------------------------------------
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
export IDP_DATABASE_URL="sqlite:///$WORK/idp.db"
export IDP_KEYS_DIR="$WORK/keys"
export IDP_PORT="$PORT"
export IDP_HOST="127.0.0.1"
export IDP_ISSUER="$BASE"
export IDP_WORKERS=2
cd "$WORK"   # no stray .env is picked up

echo "# idp from $BENCH_SRC (HEAD $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo '?'))," \
  "$(nproc) CPUs shared by server and wrk; wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine skews the figures)"
idp db upgrade >"$WORK/upgrade.log" 2>&1 || { echo "idp db upgrade failed:" >&2; tail -5 "$WORK/upgrade.log" >&2; exit 1; }
create_client() { # name alg -> "id secret"
  idp clients create --name "$1" --grant-type client_credentials --scope api:read \
    --token-alg "$2" --json 2>>"$WORK/clients.log" | tail -n1 \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["client_id"], d["client_secret"])'
}
read -r RS_ID RS_SECRET < <(create_client bench RS256)
read -r ES_ID ES_SECRET < <(create_client bench-es256 ES256)
[[ -n "${RS_ID:-}" && -n "${ES_ID:-}" ]] || { echo "client creation failed:" >&2; cat "$WORK/clients.log" >&2; exit 1; }
RS_BASIC="$(printf '%s:%s' "$RS_ID" "$RS_SECRET" | base64 -w0)"
ES_BASIC="$(printf '%s:%s' "$ES_ID" "$ES_SECRET" | base64 -w0)"

idp serve >"$WORK/idp.log" 2>&1 &
IDP_PID=$!
wait_healthy "$BASE/healthz" "$IDP_PID" "$WORK/idp.log"

# sanity: one token per client, and the token's alg
for pair in "RS256 $RS_ID:$RS_SECRET" "ES256 $ES_ID:$ES_SECRET"; do
  alg="${pair%% *}"; cred="${pair#* }"
  code="$(curl -s -o "$WORK/token-$alg.json" -w '%{http_code}' -u "$cred" \
    -d 'grant_type=client_credentials&scope=api%3Aread' "$BASE/token")"
  [[ "$code" == 200 ]] || { echo "token ($alg) failed: HTTP $code $(cat "$WORK/token-$alg.json")" >&2; exit 1; }
  got="$(python3 -c 'import base64,json,sys; t=json.load(open(sys.argv[1]))["access_token"].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(t+"=="))["alg"])' "$WORK/token-$alg.json")"
  [[ "$got" == "$alg" ]] || { echo "expected $alg token, got $got" >&2; exit 1; }
done
ACCESS_TOKEN="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$WORK/token-RS256.json")"
active="$(curl -s -u "$RS_ID:$RS_SECRET" -d "token=$ACCESS_TOKEN" "$BASE/introspect" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin).get("active"))')"
[[ "$active" == True ]] || { echo "introspection sanity check failed" >&2; exit 1; }

echo "# provider on $BASE (gunicorn master pid $IDP_PID)"

# --- the ceiling -------------------------------------------------------------------
# Started beside the provider (each idles while the other is loaded), so every round
# measures both back to back: a noisy neighbour then skews ours and theirs alike.
CPORT="$(free_port)"
IDP_PORT="$CPORT" IDP_ISSUER="http://127.0.0.1:$CPORT" \
  python3 "$HERE/ceiling_app.py" >"$WORK/ceiling.log" 2>&1 &
CEIL_PID=$!
wait_healthy "http://127.0.0.1:$CPORT/healthz" "$CEIL_PID" "$WORK/ceiling.log"
echo "# ceiling app on http://127.0.0.1:$CPORT (pid $CEIL_PID)"
CEIL="http://127.0.0.1:$CPORT"

for round in $(seq 1 "$ROUNDS"); do
  echo "# round $round of $ROUNDS"
  BENCH_BASIC="$RS_BASIC" run_wrk "token_rs256#$round" "$BASE/token" "$HERE/token.lua" "$IDP_PID"
  run_wrk "ceiling_rs256#$round" "$CEIL/token/RS256" "$HERE/token.lua" "$CEIL_PID"
  BENCH_BASIC="$ES_BASIC" run_wrk "token_es256#$round" "$BASE/token" "$HERE/token.lua" "$IDP_PID"
  run_wrk "ceiling_es256#$round" "$CEIL/token/ES256" "$HERE/token.lua" "$CEIL_PID"
  BENCH_BASIC="$RS_BASIC" BENCH_TOKEN="$ACCESS_TOKEN" \
    run_wrk "introspect#$round" "$BASE/introspect" "$HERE/introspect.lua" "$IDP_PID"
  run_wrk "discovery#$round" "$BASE/.well-known/openid-configuration" "" "$IDP_PID"
  run_wrk "jwks#$round" "$BASE/jwks.json" "" "$IDP_PID"
done
read -r RSS_KB NWORKERS < <(rss_children_kb "$IDP_PID")
MASTER_KB="$(awk '/^VmRSS:/ {print $2}' "/proc/$IDP_PID/status")"
echo "  workers RSS: $((RSS_KB / 1024)) MB in $NWORKERS workers (master $((MASTER_KB / 1024)) MB, not counted)"
read -r CEIL_RSS_KB _ < <(rss_children_kb "$CEIL_PID")
stop_pid "$IDP_PID"; IDP_PID=""
stop_pid "$CEIL_PID"; CEIL_PID=""

# --- the median round -----------------------------------------------------------------
median_round() { # name -> the round whose req/s is the median
  local r
  for r in $(seq 1 "$ROUNDS"); do echo "${RPS[$1#$r]} $r"; done | sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2) {print $2}'
}
for name in token_rs256 token_es256 ceiling_rs256 ceiling_es256 introspect discovery jwks; do
  r="$(median_round "$name")"
  RPS[$name]="${RPS[$name#$r]}"; P50[$name]="${P50[$name#$r]}"
  P99[$name]="${P99[$name#$r]}"; ERRS[$name]="${ERRS[$name#$r]}"
done
median_ratio() { # ours theirs -> median over rounds of ours/theirs (same round)
  local r
  for r in $(seq 1 "$ROUNDS"); do
    awk -v a="${RPS[$1#$r]}" -v b="${RPS[$2#$r]}" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print 0 }'
  done | sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)'
}

# --- summary -----------------------------------------------------------------------
verdict() { [[ "$1" == 1 ]] && echo PASS || echo FAIL; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? 1 : 0 }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 <= b + 0) ? 1 : 0 }'; }

R_RS="$(median_ratio token_rs256 ceiling_rs256)"
R_ES="$(median_ratio token_es256 ceiling_es256)"
RSS_MB="$(awk -v k="$RSS_KB" 'BEGIN { printf "%.0f", k / 1024 }')"

echo
echo "# median of $ROUNDS rounds per row; ratio = median of the per-round ours/ceiling ratios"
printf '%-24s %9s %9s %9s %8s  %-34s %s\n' "endpoint" "req/s" "p50 ms" "p99 ms" "non-2xx" "target" "result"
row() { printf '%-24s %9s %9s %9s %8s  %-34s %s\n' "$@"; }
row "token RS256" "${RPS[token_rs256]}" "${P50[token_rs256]}" "${P99[token_rs256]}" "${ERRS[token_rs256]}" \
  ">=0.6x ceiling, p99<=15ms" \
  "$(verdict "$(( $(ge "$R_RS" 0.6) & $(le "${P99[token_rs256]}" 15) ))") (ratio $R_RS)"
row "token ES256" "${RPS[token_es256]}" "${P50[token_es256]}" "${P99[token_es256]}" "${ERRS[token_es256]}" \
  ">=0.6x ceiling, p99<=15ms" \
  "$(verdict "$(( $(ge "$R_ES" 0.6) & $(le "${P99[token_es256]}" 15) ))") (ratio $R_ES)"
row "ceiling RS256" "${RPS[ceiling_rs256]}" "${P50[ceiling_rs256]}" "${P99[ceiling_rs256]}" "${ERRS[ceiling_rs256]}" "-" "-"
row "ceiling ES256" "${RPS[ceiling_es256]}" "${P50[ceiling_es256]}" "${P99[ceiling_es256]}" "${ERRS[ceiling_es256]}" "-" "-"
row "introspect" "${RPS[introspect]}" "${P50[introspect]}" "${P99[introspect]}" "${ERRS[introspect]}" \
  ">=3000 req/s" "$(verdict "$(ge "${RPS[introspect]}" 3000)")"
row "discovery" "${RPS[discovery]}" "${P50[discovery]}" "${P99[discovery]}" "${ERRS[discovery]}" \
  ">=5000 req/s" "$(verdict "$(ge "${RPS[discovery]}" 5000)")"
row "jwks" "${RPS[jwks]}" "${P50[jwks]}" "${P99[jwks]}" "${ERRS[jwks]}" \
  ">=5000 req/s" "$(verdict "$(ge "${RPS[jwks]}" 5000)")"
row "workers RSS (2, after)" "${RSS_MB} MB" "" "" "" "<=200 MB total" "$(verdict "$(le "$RSS_MB" 200)")"
echo "(ceiling workers RSS after its runs: $((CEIL_RSS_KB / 1024)) MB; load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
