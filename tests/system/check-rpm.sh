#!/bin/sh
# check-rpm.sh SRCDIR: builds the RPM from packaging/rpm/kexecd.spec with
# rpmbuild and checks that it carries what an installed kexecd needs. The
# .deb is built and installed by the VM test; this keeps the spec honest.
set -eu
src=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# --without check: the unit tests run in this suite already; the package
# build compiles only what it installs.
bash "$src/packaging/build-rpm.sh" "$out" --without check >"$out/build.log" 2>&1 || {
    tail -40 "$out/build.log" >&2
    echo "FAIL: build-rpm.sh failed" >&2
    exit 1
}
rpm=$(ls "$out"/kexecd-[0-9]*.rpm 2>/dev/null | grep -v '\.src\.rpm$' | head -n 1)
[ -n "$rpm" ] || { echo "FAIL: no kexecd .rpm in $out" >&2; ls -l "$out" >&2; exit 1; }
files=$(rpm -qlp "$rpm")

status=0
for want in /usr/libexec/kexecd /usr/bin/kexecctl \
    /usr/share/dbus-1/interfaces/org.kexecd1.xml \
    /usr/share/dbus-1/system.d/org.kexecd1.conf \
    /usr/share/dbus-1/system-services/org.kexecd1.service \
    /usr/share/polkit-1/actions/org.kexecd1.policy \
    /etc/kexecd.conf /usr/lib/kernel/install.d/90-kexecd.install \
    /usr/share/bash-completion/completions/kexecctl /usr/share/zsh/site-functions/_kexecctl \
    /usr/share/fish/vendor_completions.d/kexecctl.fish /usr/share/kexecd/fleet-network.conf; do
    printf '%s\n' "$files" | grep -qx "$want" || { echo "FAIL: $want missing from $rpm" >&2; status=1; }
done
# %license: licenses/NAME on Fedora, licenses/NAME-VERSION with rpm's own
# default (%_docdir_fmt), as Debian's rpm has it.
printf '%s\n' "$files" | grep -Eqx '/usr/share/licenses/kexecd(-[0-9.]+)?/LICENSE' ||
    { echo "FAIL: no LICENSE under /usr/share/licenses in $rpm" >&2; status=1; }
for unit in kexecd.service kexecd-verify.service kexecd-autoreboot.service \
    kexecd-autoreboot.timer; do
    printf '%s\n' "$files" | grep -q "/systemd/system/$unit\$" ||
        { echo "FAIL: $unit missing from $rpm" >&2; status=1; }
done
for link in kexec.target.wants reboot.target.wants; do
    printf '%s\n' "$files" | grep -q "/systemd/system/$link/kexecd-verify.service\$" ||
        { echo "FAIL: $link/kexecd-verify.service missing from $rpm (the hook is static)" >&2; status=1; }
done
# Removal unstages, as the .deb's prerm does.
rpm -qp --scripts "$rpm" 2>/dev/null | grep -q 'kexecctl --no-ask-password -q unstage' ||
    { echo "FAIL: $rpm's %preun does not unstage" >&2; status=1; }
[ $status -eq 0 ] && echo "ok: $(basename "$rpm") has the daemon, CLI, units, bus, polkit and hook files"
exit $status
