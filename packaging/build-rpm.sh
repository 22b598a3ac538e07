#!/bin/bash
# build-rpm.sh OUTDIR [RPMBUILD-OPTION...]: builds the kexecd RPM from this
# tree with rpmbuild (and the options given, e.g. --without check) and copies
# the .rpm files into OUTDIR. On Debian (package rpm) the Fedora
# BuildRequires cannot be satisfied from the rpm database, so it builds with
# --nodeps against the Debian build dependencies (see packaging/debian/control);
# elsewhere the BuildRequires are checked as usual.
set -euo pipefail

out=${1:?usage: build-rpm.sh OUTDIR [RPMBUILD-OPTION...]}
shift
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
start=$(date +%s)

if ! command -v rpmbuild >/dev/null; then
    echo "build-rpm.sh: rpmbuild not found (Debian: apt-get install rpm)" >&2
    exit 1
fi
spec=$top/packaging/rpm/kexecd.spec
version=$(sed -n 's/^Version: *//p' "$spec")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{BUILD,RPMS,SOURCES,SPECS,SRPMS}
bash "$top/packaging/copy-tree.sh" "$top" "$work/kexecd-$version"
tar -C "$work" -czf "$work/SOURCES/kexecd-$version.tar.gz" "kexecd-$version"

nodeps=()
[ -e /etc/debian_version ] && nodeps=(--nodeps)
rpmbuild -bb "${nodeps[@]}" "$@" --define "_topdir $work" "$spec"

rpms=("$work"/RPMS/*/*.rpm)
cp "${rpms[@]}" "$out/"
for r in "${rpms[@]}"; do echo "built: $out/$(basename "$r")"; done
echo "build-rpm.sh: done in $(( $(date +%s) - start ))s"
