#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: `bash tests/run.sh [pytest args]`.
# Set IDP_TEST_DATABASE_URL / IDP_TEST_REDIS_URL to run it on PostgreSQL and Redis too.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Browser tests drive Debian's Chromium; interop tests drive node openid-client.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
    || echo "note: chromium could not be installed; browser tests will be skipped"
fi
# SAML tests (pysaml2) sign and verify XML with xmlsec1.
if ! command -v xmlsec1 >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq xmlsec1 >/dev/null) \
    || echo "note: xmlsec1 could not be installed; SAML tests will fail"
fi
if command -v npm >/dev/null && [ -f tests/interop/package-lock.json ]; then
  (cd tests/interop && npm ci --silent --no-audit --no-fund) \
    || echo "note: npm ci failed; interop tests will be skipped"
fi

python3 -m pytest "$@"
