#!/bin/sh
# check-versions.sh TOP: one version everywhere it is written down: meson.build,
# the Debian changelog, the RPM spec and the man pages.
set -eu
top=$1
want=$(sed -n "s/^  version: '\([^']*\)'.*/\1/p" "$top/meson.build")
[ -n "$want" ] || { echo "FAIL: no version in meson.build" >&2; exit 1; }
status=0
check() { # WHERE VALUE
    if [ "$2" = "$want" ]; then echo "ok: $1 says $2"
    else echo "FAIL: $1 says '$2', meson.build says $want" >&2; status=1; fi
}
check packaging/debian/changelog \
    "$(sed -n '1s/^kexecd (\([^)-]*\)\(-[^)]*\)\{0,1\}).*/\1/p' "$top/packaging/debian/changelog")"
check packaging/rpm/kexecd.spec "$(sed -n 's/^Version: *//p' "$top/packaging/rpm/kexecd.spec")"
for m in "$top"/man/*.[0-9]; do
    check "man/$(basename "$m")" "$(sed -n 's/^\.TH .* "kexecd \([^"]*\)".*/\1/p' "$m")"
done
exit $status
