#!/usr/bin/env bash
# render_report.sh: renders a report.html in headless Chromium as a reader's browser would: the page
# loads without console messages, every local figure it references exists. Exit 77: no Chromium.
# Usage: render_report.sh REPORT.html [SCREENSHOT.png]   (XAI_CHROMIUM: the browser, default chromium)
set -u
html=${1:?usage: render_report.sh REPORT.html [SCREENSHOT.png]}; shot=${2:-}
browser=${XAI_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$browser" ] && [ -x "$browser" ] || { echo "render_report: no chromium (apt-get install chromium): skipped"; exit 77; }
[ -s "$html" ] || { echo "render_report: $html missing or empty"; exit 1; }
dir=$(cd "$(dirname "$html")" && pwd); page="$dir/$(basename "$html")"
fail=0
# Every <img src> and <a href> that is a relative path names a file beside the report.
for r in $(grep -o -E '(src|href)="[^"#:]*"' "$page" | sed -E 's/^(src|href)="//; s/"$//' | sort -u); do
    [ -s "$dir/$r" ] || { echo "render_report: $html references $r, which does not exist"; fail=1; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# No sandbox: CI and containers run as root, where Chromium refuses its sandbox. The profile is
# temporary so that no user state changes what is rendered.
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions --hide-scrollbars
       --disable-background-networking --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0)
DBUS_SESSION_BUS_ADDRESS=disabled: timeout 180 "$browser" "${flags[@]}" --dump-dom "file://$page" \
    >"$tmp/dom.html" 2>"$tmp/log.txt"
rc=$?
[ $rc = 0 ] || { echo "render_report: $browser exited $rc on $page"; tail -5 "$tmp/log.txt"; fail=1; }
grep -q '</html>' "$tmp/dom.html" || { echo "render_report: $page did not render (no DOM)"; fail=1; }
# Chromium logs every console message (errors, warnings, log calls) as CONSOLE; a static report has none.
if grep -q ':CONSOLE' "$tmp/log.txt"; then echo "render_report: console messages:"; grep ':CONSOLE' "$tmp/log.txt"; fail=1; fi
imgs=$(grep -o '<img ' "$tmp/dom.html" | wc -l); srcs=$(grep -o '<img ' "$page" | wc -l)
[ "$imgs" = "$srcs" ] || { echo "render_report: $srcs figures in $html, $imgs in the rendered page"; fail=1; }
if [ -n "$shot" ] && [ $fail = 0 ]; then
    DBUS_SESSION_BUS_ADDRESS=disabled: timeout 180 "$browser" "${flags[@]}" --window-size=1280,2400 \
        --screenshot="$shot" "file://$page" >/dev/null 2>&1 || { echo "render_report: no screenshot"; fail=1; }
fi
[ $fail = 0 ] && echo "render_report: $html renders: $imgs figures, no console messages"
exit $fail
