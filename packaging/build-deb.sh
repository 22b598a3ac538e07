#!/bin/bash
# build-deb.sh OUTDIR [ARCH]: builds the kexecd Debian package from this
# tree and copies the .deb into OUTDIR (created if needed). Works from a
# clean clone on Debian 12: as root it installs the packaging tools and
# Build-Depends that are missing.
#
# ARCH (e.g. arm64) cross-builds for that architecture with Debian's
# multiarch: `dpkg-buildpackage -aARCH -Pcross,nocheck` (the tests cannot run
# here), after `dpkg --add-architecture ARCH`, crossbuild-essential-ARCH and
# the Build-Depends for ARCH (apt-get build-dep -aARCH), as root.
#
# The tree is copied to a temporary directory (copy-tree.sh: what a clone
# with your changes would hold, never a build directory) with
# packaging/debian as ./debian, and built with
# `dpkg-buildpackage -us -uc -b`. The package build runs the unit tests;
# DEB_BUILD_OPTIONS=nocheck skips them. No -dbgsym package is made.
# If lintian is installed, the .deb is checked and an error fails the build.
set -euo pipefail

out=${1:?usage: build-deb.sh OUTDIR [ARCH]}
arch=${2:-}
[ "$arch" = "$(dpkg --print-architecture)" ] && arch=""
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
start=$(date +%s)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
    as_root apt-get update -qq
    apt_install dpkg-dev debhelper
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/kexecd
bash "$top/packaging/copy-tree.sh" "$top" "$src"
rm -rf "$src/debian"
cp -a "$top/packaging/debian" "$src/debian"

cd "$src"
if [ -n "$arch" ]; then
    # A cross build: the toolchain and the :ARCH libraries, all from apt.
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        as_root dpkg --add-architecture "$arch"
        as_root apt-get update -qq
    fi
    if ! dpkg-checkbuilddeps -a"$arch" -Pcross,nocheck >/dev/null 2>&1; then
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "crossbuild-essential-$arch"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq -a"$arch" -Pcross,nocheck .
    fi
    export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }nocheck"
    cross=(-a"$arch" -Pcross,nocheck)
elif ! unmet=$(dpkg-checkbuilddeps 2>&1); then
    # "dpkg-checkbuilddeps: error: Unmet build dependencies: a (>= 1) b | c"
    pkgs=$(printf '%s\n' "$unmet" | sed -n 's/.*Unmet build dependencies: //p' |
           sed -e 's/([^)]*)//g' -e 's/|[^ ]*//g')
    echo "installing build dependencies:" $pkgs
    as_root apt-get update -qq
    # shellcheck disable=SC2086
    apt_install $pkgs
fi

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }noddebs parallel=$(nproc)"
dpkg-buildpackage -us -uc -b ${cross[@]+"${cross[@]}"}
debs=("$work"/*.deb)
cp "${debs[@]}" "$out/"
for d in "${debs[@]}"; do echo "built: $out/$(basename "$d")"; done

if command -v lintian >/dev/null; then
    # Pedantic, and anything from a warning up fails the build; the tags we
    # disagree with are overridden, each with its reason, in
    # debian/kexecd.lintian-overrides.
    lintian --pedantic --fail-on error,warning,pedantic --tag-display-limit 0 "${debs[@]}" || {
        echo "build-deb.sh: lintian found problems" >&2
        exit 1
    }
    echo "lintian --pedantic: clean"
fi
echo "build-deb.sh: done in $(( $(date +%s) - start ))s"
