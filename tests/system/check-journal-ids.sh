#!/bin/sh
# check-journal-ids.sh EVENT_LOG_CPP MAN_PAGE: every MESSAGE_ID kexecd logs
# is documented in kexecd(8), where scripts and journalctl users look them up.
set -eu
ids=$(grep -o '"[0-9a-f]\{32\}"' "$1" | tr -d '"' | sort -u)
n=$(printf '%s\n' "$ids" | grep -c .)
[ "$n" -ge 5 ] || { echo "FAIL: only $n MESSAGE_IDs found in $1" >&2; exit 1; }
status=0
for id in $ids; do
    if grep -q "^\.B $id\$" "$2"; then echo "ok: $id"; else echo "FAIL: $id not in $2" >&2; status=1; fi
done
exit $status
