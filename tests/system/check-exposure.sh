#!/bin/sh
# check-exposure.sh UNIT_FILE MAX: fails when `systemd-analyze security
# --offline=yes` rates UNIT_FILE above MAX (e.g. 2.0), and fails loudly when
# it cannot rate it at all (no systemd-analyze, or one without --offline,
# which came with systemd 250): a check that cannot run must not pass.
# check-exposure.sh UNIT_FILE MAX DROPIN...: the same, for the unit with
# the drop-ins applied (a drop-in's lines apply as if appended to the unit).
set -u
unit=$1 max=$2
shift 2
if [ $# -gt 0 ]; then
    tmp=$(mktemp -d) || exit 1
    trap 'rm -rf "$tmp"' EXIT
    cat "$unit" "$@" > "$tmp/$(basename "$unit")"
    unit=$tmp/$(basename "$unit")
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "FAIL: systemd-analyze not found (Debian package systemd); cannot rate $unit" >&2
    exit 1
fi
out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1)
rc=$?
printf '%s\n' "$out"
# "→ Overall exposure level for kexecd.service: 1.2 OK 🙂"
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
    echo "FAIL: systemd-analyze (exit $rc) gave no exposure level for $unit;" \
         "it needs --offline= (systemd >= 250)" >&2
    exit 1
fi
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
    echo "FAIL: exposure $score of $(basename "$unit") is above $max" >&2
    exit 1
fi
echo "exposure $score of $(basename "$unit") is within $max"
