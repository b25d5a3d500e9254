#!/usr/bin/env bash
# Installs the web console's npm packages outside the work tree, into
# ${VESSEL_TOOLS:-$HOME/.cache/vessel-tools}/web (scripts/setup.sh runs it):
#   @xterm/xterm    the in-browser terminal `vessel serve` serves at /ui/vendor/ (docs/web.md)
#   playwright-core drives Debian's chromium in tests/integration/test_web.py
# Pinned versions; a second run with them present does nothing. No network is needed at run
# time: the daemon serves the files from here (vessel serve --web-vendor).
# Usage: scripts/setup-web.sh    (exit status 1 when npm fails; its log is named)
set -uo pipefail

xterm_version=5.5.0
playwright_version=1.57.0
dir=${VESSEL_TOOLS:-$HOME/.cache/vessel-tools}/web
export NO_UPDATE_NOTIFIER=1

installed() {
    grep -q "\"version\": \"$xterm_version\"" "$dir/node_modules/@xterm/xterm/package.json" 2>/dev/null &&
        grep -q "\"version\": \"$playwright_version\"" "$dir/node_modules/playwright-core/package.json" 2>/dev/null
}

installed && exit 0
if ! command -v npm >/dev/null; then
    echo "setup-web: npm is not installed (scripts/setup.sh installs nodejs and npm)" >&2
    exit 1
fi
mkdir -p "$dir"
[[ -f $dir/package.json ]] || echo '{"name":"vessel-web-tools","private":true}' >"$dir/package.json"
echo "setup-web: installing @xterm/xterm@$xterm_version playwright-core@$playwright_version into $dir"
if ! (cd "$dir" && npm install --no-audit --no-fund --loglevel=error \
    "@xterm/xterm@$xterm_version" "playwright-core@$playwright_version" >install.log 2>&1); then
    echo "setup-web: npm install failed (see $dir/install.log)" >&2
    tail -n 5 "$dir/install.log" >&2
    exit 1
fi
installed || {
    echo "setup-web: the packages are not where expected after npm install ($dir)" >&2
    exit 1
}
