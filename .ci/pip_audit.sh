#!/usr/bin/env bash
# pip-audit against the pinned dependency set (requirements.lock, written by
# scripts/lock_requirements.py). Known vulnerabilities fail CI; an unreachable
# vulnerability service (offline CI) is retried, then reported without failing, so the
# check is never flaky.
set -uo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check pip-audit >/dev/null 2>&1 \
  || { echo "warning: pip-audit could not be installed (offline?); dependency audit skipped"; exit 0; }

for attempt in 1 2; do
  out="$(python3 -m pip_audit --requirement requirements.lock --no-deps --disable-pip \
           --progress-spinner off 2>&1)"
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "$out" | grep -v '^WARNING:pip_audit' | head -5
    exit 0
  fi
  if echo "$out" | grep -q "known vulnerabilit"; then
    echo "$out"
    echo "pip-audit: known vulnerabilities in requirements.lock" >&2
    exit 1
  fi
  sleep 5
done
echo "$out" | tail -3
echo "warning: pip-audit could not reach the vulnerability service; dependency audit skipped"
exit 0
