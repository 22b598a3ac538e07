#!/bin/bash
# The guest half of the kexecd VM test's Secure Boot guest (issue 8). The
# same image as the BIOS guest, booted by UEFI with Secure Boot enforced:
# OVMF (Microsoft keys enrolled) -> shim -> Debian's signed GRUB -> Debian's
# signed $BOOT_KVER, locked down. run-vm-test copies this file to the payload
# disk as guest-test.sh, which kexecd-vm-test.service runs at every boot.
#
# Three boots, one qemu process:
#   boot 1  through the firmware: 13, 14 (first half), 15; systemctl kexec
#   boot 2  kexec into $NEW_KVER: 14; 16 (first half: a UKI of $NEW_KVER on
#           the ESP, its plain files removed); systemctl kexec
#   boot 3  kexec into the UKI's $NEW_KVER: 16
#
# The UKI is not signed: the firmware never boots it. kexecd hands its .linux
# (Debian's signed kernel) to kexec_file_load, which checks that signature.
#
# guest-lib.sh: output, state, helpers, and the start of every boot ($phase).
. /mnt/payload/guest-lib.sh

ESP=/boot/efi
UKI=$ESP/EFI/Linux/kexecd-vm-$NEW_KVER.efi
UKI_PARAM=kexecd.fromuki=1
EFI_GLOBAL=8be4df61-93ca-11d2-aa0d-00e098032b8c
# Where 16 puts $NEW_KVER's plain /boot files, so that only the UKI has it.
ASIDE=/var/lib/kexecd-vm-aside

# The last byte of an EFI variable (after 4 attribute bytes), in hex.
efi_byte() { od -An -tx1 -j4 -N1 "/sys/firmware/efi/efivars/$1" 2>/dev/null | tr -d ' '; }
lockdown() { cat /sys/kernel/security/lockdown 2>/dev/null; }
locked_down() { [[ $(lockdown) == *"[integrity]"* || $(lockdown) == *"[confidentiality]"* ]]; }
# Secure Boot on and the kernel locked down; sets why[] (the caller's).
check_secure() {
    [[ $(efi_byte "SecureBoot-$EFI_GLOBAL") == 01 ]] ||
        why+=("SecureBoot is '$(efi_byte "SecureBoot-$EFI_GLOBAL")', not 01")
    locked_down || why+=("not locked down: /sys/kernel/security/lockdown is '$(lockdown)'")
}
# Whether FILE carries an Authenticode signature (sbverify --list).
signed() { sbverify --list "$1" 2>&1 | grep -q '^signature [0-9]'; }

# 13. Booted through shim and GRUB with Secure Boot enforced.
assert_13() {
    local why=()
    check_secure
    [[ $(uname -r) == "$BOOT_KVER" ]] || why+=("running $(uname -r), not GRUB's $BOOT_KVER")
    [[ $(loader_type) != d0 ]] || why+=("type_of_loader 0xd0 (kexec) on the first boot")
    [[ -d /sys/firmware/efi ]] || why+=("no /sys/firmware/efi: not booted by UEFI")
    signed "/boot/vmlinuz-$NEW_KVER" || why+=("/boot/vmlinuz-$NEW_KVER is not signed: $(sbverify --list "/boot/vmlinuz-$NEW_KVER" 2>&1 | head -1)")
    conclude 13 "UEFI Secure Boot on (SecureBoot=01), lockdown '$(lockdown)', $BOOT_KVER booted by GRUB" \
        "(type_of_loader 0x$(loader_type)); $(dmesg | grep -m1 -o 'Loaded X.509 cert .Debian Secure Boot CA[^:]*')"
}

# 14, first half: kexecd staged the newest signed kernel on its own. Under
# lockdown the old kexec_load is refused: a loaded kernel means
# kexec_file_load checked its signature.
assert_14_boot1() {
    if ! wait_prop StagedVersion "$NEW_KVER" 120 || ! wait_prop Loaded true 10; then
        fail 14 "after 120 s: $(summary); expected StagedVersion '$NEW_KVER'"
        info "ListKernels: $(busctl call "${BUS[@]}" ListKernels 2>&1 | cut -c1-600)"
        return 1
    fi
    timing sb-stage-after-boot "$(awk '{print $1}' /proc/uptime)"
    local kernel
    kernel=$(prop StagedKernel)
    if [[ $kernel != "/boot/vmlinuz-$NEW_KVER" || $(cat /sys/kernel/kexec_loaded) != 1 ]]; then
        fail 14 "staged '$kernel', kexec_loaded $(cat /sys/kernel/kexec_loaded): $(summary)"
        return 1
    fi
    info "14: kexecd staged $kernel under lockdown; cmdline '$(prop StagedCmdline)'"
    cp /proc/cmdline "$P/cmdline-sb1"
}

# 15. A kernel without a valid signature (the third kernel's, its signature
#     removed with sbattach): the automatic staging and an explicit Stage()
#     are refused with the signature message, and the staged kernel stays.
assert_15() {
    local t0 x k="/boot/vmlinuz-$EXTRA_KVER" i="/boot/initrd.img-$EXTRA_KVER" why=() line out rc v
    t0=$(now)
    v=$(prop StagedVersion)
    x=$(mktemp -d)
    if ! dpkg-deb --fsys-tarfile "$P/extra.deb" | tar -x -C "$x" "./boot/vmlinuz-$EXTRA_KVER" ||
        ! signed "$x/boot/vmlinuz-$EXTRA_KVER"; then
        fail 15 "no signed vmlinuz-$EXTRA_KVER in $EXTRA_PKG's package"
        rm -rf "$x"
        return 1
    fi
    out=$(sbattach --remove "$x/boot/vmlinuz-$EXTRA_KVER" 2>&1)
    if signed "$x/boot/vmlinuz-$EXTRA_KVER"; then
        fail 15 "sbattach --remove left a signature: $out"
        rm -rf "$x"
        return 1
    fi
    # Its modules directory and initrd first (the /boot watch then sees a
    # whole kernel): $NEW_KVER's initrd will do, the load is refused before
    # it matters.
    mkdir -p "/usr/lib/modules/$EXTRA_KVER"
    cp "/boot/initrd.img-$NEW_KVER" "$i.tmp" && mv "$i.tmp" "$i"
    cp "$x/boot/vmlinuz-$EXTRA_KVER" "$k.tmp" && mv "$k.tmp" "$k"
    rm -rf "$x"
    info "15: unsigned $k installed ($(sbverify --list "$k" 2>&1 | head -1))"
    # The /boot watch tries the newest kernel, the unsigned one.
    if ! line=$(journal_line 0 "of /boot/vmlinuz-$EXTRA_KVER failed" 60 -u kexecd.service); then
        why+=("kexecd logged nothing about $k within 60 s")
    elif [[ $line != *signature* ]]; then
        why+=("kexecd's journal says '$line', not the signature message")
    else
        info "15: automatic staging: $line"
    fi
    out=$(kexecctl --no-ask-password stage "$EXTRA_KVER" 2>&1)
    rc=$?
    ((rc != 0)) || why+=("kexecctl stage $EXTRA_KVER succeeded: $out")
    grep -qi 'signature' <<<"$out" || why+=("kexecctl stage $EXTRA_KVER exited $rc without the signature message: $out")
    [[ $(prop StagedVersion) == "$v" && $(prop StagedKernel) == "/boot/vmlinuz-$v" && $(prop Loaded) == true &&
        $(cat /sys/kernel/kexec_loaded) == 1 ]] || why+=("the staged kernel changed: $(summary), expected $v")
    rm -rf "$k" "$i" "/usr/lib/modules/$EXTRA_KVER"
    wait_prop NewestVersion "$NEW_KVER" 30 || why+=("NewestVersion is '$(prop NewestVersion)' after removing $k")
    wait_prop StagedVersion "$v" 30 || why+=("after removing $k: $(summary), expected $v")
    timing sb-refused "$(elapsed "$t0" "$(now)")"
    conclude 15 "unsigned $EXTRA_KVER refused: kexecctl stage exited $rc: $(tr '\n' ' ' <<<"$out" | cut -c1-300);" \
        "$v stayed staged"
}

# The ESP, mounted at /boot/efi from now on (from fstab at the next boots,
# before kexecd starts).
mount_esp() {
    # As Debian's installer writes it: no nofail, so that local-fs.target (and
    # kexecd after it) waits for the mount.
    grep -q " $ESP " /etc/fstab || echo "PARTLABEL=ESP $ESP vfat umask=0077 0 1" >>/etc/fstab
    mkdir -p "$ESP"
    mountpoint -q "$ESP" || mount "$ESP"
}

# 14, second half (boot 2): the staged kernel, by kexec, still locked down.
assert_14() {
    local why=() cmdline_now
    check_secure
    check_kexec_boot "$NEW_KVER" "$P/cmdline-sb1"
    [[ $(loader_type) == d0 ]] || why+=("type_of_loader 0x$(loader_type), not 0xd0 (kexec)")
    timing sb-phase14 "$(phase_time P14_T0)"
    conclude 14 "systemctl kexec booted the signed $NEW_KVER by kexec_file_load under lockdown" \
        "(type_of_loader 0xd0, new boot id, still '$(lockdown)', SecureBoot=01); cmdline '$cmdline_now'"
}

# 16, first half (boot 2): a UKI of $NEW_KVER on the ESP, its plain files
# gone: kexecd stages it from the UKI.
prepare_16() {
    local out
    state_set P16_T0 "$(now)"
    state_set UKI_CMDLINE "root=/dev/vda ro $GRUB_CMDLINE_LINUX $UKI_PARAM"
    if ! mountpoint -q "$ESP"; then
        fail 16 "the ESP is not mounted at $ESP: $(findmnt "$ESP" 2>&1)"
        return 1
    fi
    if ! out=$(build_uki "$UKI" "$NEW_KVER" "$(state_get UKI_CMDLINE)"); then
        fail 16 "objcopy could not build the UKI: $out"
        return 1
    fi
    mkdir -p "$ASIDE"
    mv "/boot/vmlinuz-$NEW_KVER" "/boot/initrd.img-$NEW_KVER" "$ASIDE/"
    info "16: built $UKI ($(stat -c %s "$UKI") bytes, not signed; its .linux is: $(sbverify --list "$ASIDE/vmlinuz-$NEW_KVER" 2>&1 | head -1)); /boot's $NEW_KVER files moved to $ASIDE"
    if ! wait_prop StagedKernel "$UKI" 60 || ! wait_prop Loaded true 10; then
        fail 16 "the watch did not stage $UKI within 60 s: $(summary) StagedKernel='$(prop StagedKernel)'"
        info "ListBootEntries: $(busctl call "${BUS[@]}" ListBootEntries 2>&1 | cut -c1-600)"
        return 1
    fi
    state_set STAGED16_CMDLINE "$(prop StagedCmdline)"
    info "16: staged $(prop StagedKernel), cmdline '$(prop StagedCmdline)'"
    reboot_into sb-uki 16 systemctl kexec
}

# 16, second half (boot 3).
assert_16() {
    local why=() c uki_cmdline
    c=$(proc_cmdline) uki_cmdline=$(state_get UKI_CMDLINE)
    # The ESP may be unmounted before kexecd-verify looks: it must keep the UKI.
    info "16: kexecd-verify at boot 2's shutdown: $(journalctl -b -1 -u kexecd-verify.service -o cat --no-pager 2>/dev/null |
        grep -E 'staged kernel|stepped aside|nothing staged' | tail -1)"
    check_secure
    [[ $(uname -r) == "$NEW_KVER" ]] || why+=("running $(uname -r), not the UKI's $NEW_KVER")
    [[ $(loader_type) == d0 ]] || why+=("type_of_loader 0x$(loader_type), not 0xd0 (kexec)")
    [[ $(boot_id) != "$(state_get BOOT_ID_BEFORE)" ]] || why+=("same boot id")
    [[ $(state_get STAGED16_CMDLINE) == "$uki_cmdline" ]] ||
        why+=("StagedCmdline was '$(state_get STAGED16_CMDLINE)', not the UKI's .cmdline '$uki_cmdline'")
    [[ $c == "$uki_cmdline" ]] || why+=("/proc/cmdline '$c' is not the UKI's .cmdline '$uki_cmdline'")
    timing sb-phase16 "$(phase_time P16_T0)"
    conclude 16 "an unsigned UKI of the signed $NEW_KVER on the ESP was staged from the UKI under lockdown;" \
        "the kexec'd kernel runs its .cmdline '$c'"
}

case ${phase:-start} in
start)
    timing sb-boot1-userspace "$(awk '{print $1}' /proc/uptime)"
    mount_esp || info "mounting the ESP at $ESP failed"
    assert_13
    if assert_14_boot1; then
        assert_15
        state_set P14_T0 "$(now)"
        reboot_into sb-kexec 14 systemctl kexec
    else
        not_attempted 15
    fi
    not_attempted 16
    finish
    ;;
sb-kexec)
    timing sb-boot2-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_14
    prepare_16
    finish
    ;;
sb-uki)
    timing sb-boot3-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_16
    finish
    ;;
*)
    fail 0 "unexpected reboot in phase '$phase'"
    finish
    ;;
esac
