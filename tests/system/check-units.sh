#!/bin/sh
# check-units.sh KEXECD KEXECCTL UNIT...: systemd-analyze verify accepts the generated
# units without a single message (it only warns, exit status 0, about an
# unknown or misspelt key, which systemd then silently ignores). ExecStart=
# names the installed programs; the copies checked here name the built ones.
set -u
kexecd=$(readlink -f "$1") kexecctl=$(readlink -f "$2"); shift 2
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "FAIL: systemd-analyze not found (Debian package systemd)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for u in "$@"; do
    sed -e "s|^\(ExecStart=-\{0,1\}\)/[^ ]*/kexecd |\1$kexecd |" \
        -e "s|^\(ExecStart=-\{0,1\}\)/[^ ]*/kexecd\$|\1$kexecd|" \
        -e "s|^\(ExecStart=-\{0,1\}\)/[^ ]*/kexecctl |\1$kexecctl |" "$u" > "$tmp/$(basename "$u")"
done
out=$(cd "$tmp" && systemd-analyze verify --man=no ./*.service $(ls ./*.timer 2>/dev/null) 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    echo "FAIL: systemd-analyze verify (exit $rc)" >&2
    exit 1
fi
echo "ok: systemd-analyze verify accepts" "$@"
