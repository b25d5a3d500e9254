#!/usr/bin/env bash
# Lints docs/api/openapi.yaml with Redocly's strict ruleset (docs/api/redocly.yaml): npm's
# @redocly/cli, installed on first use (and by scripts/setup.sh) into
# ${VESSEL_TOOLS:-$HOME/.cache/vessel-tools}/redocly, outside the work tree.
# Usage: scripts/lint-openapi.sh [--install-only]
# Ends with "N passed, N failed" (one check); exit status 1 when the spec has problems or the
# linter cannot be installed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
version=2.77.0
dir=${VESSEL_TOOLS:-$HOME/.cache/vessel-tools}/redocly
bin=$dir/node_modules/.bin/redocly
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

installed() {
    [[ -x $bin ]] && grep -q "\"version\": \"$version\"" "$dir/node_modules/@redocly/cli/package.json" 2>/dev/null
}

if ! installed; then
    if ! command -v npm >/dev/null; then
        echo "FAIL openapi lint: npm is not installed (scripts/setup.sh installs nodejs and npm)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    mkdir -p "$dir"
    echo "lint-openapi: installing @redocly/cli@$version into $dir"
    if ! (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "@redocly/cli@$version" >install.log 2>&1); then
        echo "FAIL openapi lint: npm install @redocly/cli@$version failed (see $dir/install.log)"
        tail -n 5 "$dir/install.log"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi
[[ ${1:-} == --install-only ]] && exit 0

out=$(mktemp)
trap 'rm -f "$out"' EXIT
if "$bin" lint --config docs/api/redocly.yaml docs/api/openapi.yaml >"$out" 2>&1; then
    echo "PASS docs/api/openapi.yaml is valid under redocly lint (recommended-strict)"
    echo "1 passed, 0 failed"
    exit 0
fi
grep -v "Deprecation warning\|Node.js 20\|^ *║\|^ *╔\|^ *╚" "$out" | tail -n 60
echo "FAIL docs/api/openapi.yaml: redocly lint found problems (above)"
echo "0 passed, 1 failed"
exit 1
