#!/bin/sh
# check-shipped-config.sh KEXECD SAMPLE_ROOT_TOOL CONF: kexecd reads the
# shipped etc/kexecd.conf without a warning, and also the same file with
# every documented key uncommented: each key the file documents exists, and
# each default it shows is a valid value. (kexecd --verify-staged loads the
# configuration like the daemon does, then checks and exits; with --simulate
# and --root nothing reaches the running kernel.)
set -eu
kexecd=$1 sample=$2 conf=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$sample" "$tmp/root"

# Sections and "#Key=value" lines, with the "#" taken off.
sed -n -e 's/^\(\[[A-Za-z]*\]\)$/\1/p' -e 's/^#\([A-Z][A-Za-z]*=.*\)$/\1/p' "$conf" > "$tmp/all.conf"
keys=$(grep -c '=' "$tmp/all.conf")
[ "$keys" -ge 7 ] || { echo "FAIL: only $keys keys documented in $conf" >&2; cat "$tmp/all.conf" >&2; exit 1; }

for f in "$conf" "$tmp/all.conf"; do
    rc=0
    "$kexecd" --simulate --verify-staged --root "$tmp/root" --config "$f" > "$tmp/log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] || grep -q -i -E 'warn|error|critical|unknown' "$tmp/log"; then
        echo "FAIL: kexecd on $f (exit $rc):" >&2
        cat "$tmp/log" >&2
        exit 1
    fi
    echo "ok: $f"
done
echo "ok: all $keys documented keys are known, with valid defaults:"
sed 's/^/  /' "$tmp/all.conf"
