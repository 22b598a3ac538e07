#!/bin/sh
# check-man.sh PAGE...: the man pages format without a single groff warning
# (undefined macros, bad escapes, lines that cannot be broken).
set -u
if ! command -v groff >/dev/null 2>&1; then
    echo "FAIL: groff not found (Debian package groff-base)" >&2
    exit 1
fi
status=0
for page in "$@"; do
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 groff -man -ww -z -Tutf8 "$page" 2>&1)
    if [ -n "$out" ]; then
        printf '%s\n' "$out" >&2
        echo "FAIL: $page" >&2
        status=1
    else
        echo "ok: $page"
    fi
done
exit $status
