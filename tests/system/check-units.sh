#!/bin/sh
# check-units.sh KEXECD UNIT...: systemd-analyze verify accepts the generated
# units without a single message (it only warns, exit status 0, about an
# unknown or misspelt key, which systemd then silently ignores). ExecStart=
# names the installed daemon; the copies checked here name the built one.
set -u
kexecd=$(readlink -f "$1"); shift
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "FAIL: systemd-analyze not found (Debian package systemd)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for u in "$@"; do
    sed "s|^\(ExecStart=-\{0,1\}\)/[^ ]*/kexecd|\1$kexecd|" "$u" > "$tmp/$(basename "$u")"
done
out=$(cd "$tmp" && systemd-analyze verify --man=no ./*.service 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    echo "FAIL: systemd-analyze verify (exit $rc)" >&2
    exit 1
fi
echo "ok: systemd-analyze verify accepts" "$@"
