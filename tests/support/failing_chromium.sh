#!/bin/sh
# A Chromium that fails, for the browser tests (CAPTURE_BROWSER names this script):
# it starts the real one ($REAL_CHROMIUM, else chromium), then after
# $CHROMIUM_FAILS_AFTER seconds sends it $CHROMIUM_SIGNAL (KILL: a crash; STOP: a hang).
# With $CHROMIUM_FAIL_ONCE (a file name), only the first start fails.
if [ -n "$CHROMIUM_FAIL_ONCE" ] && [ -e "$CHROMIUM_FAIL_ONCE" ]; then
  exec "${REAL_CHROMIUM:-chromium}" "$@"
fi
[ -n "$CHROMIUM_FAIL_ONCE" ] && : > "$CHROMIUM_FAIL_ONCE"
"${REAL_CHROMIUM:-chromium}" "$@" &
browser=$!
sleep "${CHROMIUM_FAILS_AFTER:-1}"
kill -"${CHROMIUM_SIGNAL:-KILL}" "$browser"
wait "$browser"
