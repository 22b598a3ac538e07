#!/bin/bash
# The guest half of the kexecd VM test's arm64 guest (issue 7): Debian 12
# arm64, booted by qemu -M virt (TCG) with -kernel on the 6.1 cloud kernel,
# $NEW_KVER (6.12) beside it. Neither has kexec_file_load (Debian builds its
# arm64 kernels without KEXEC_FILE), so kexecd stages through `kexec -l` of
# kexec-tools in a transient unit. run-vm-arm64 copies this file to the
# payload disk as guest-test.sh, which kexecd-vm-test.service runs at every
# boot.
#
# Three boots, one qemu process (-no-reboot: a reset would end it):
#   boot 1  17 (first half), 18; systemctl kexec
#   boot 2  kexec into $NEW_KVER: 17; 19 (first half: a gzip'd copy of
#           $NEW_KVER's Image replaces it, kexecctl stage); systemctl kexec
#   boot 3  kexec into that, decompressed by kexecd: 19
#
# guest-lib.sh: output, state, helpers, and the start of every boot ($phase).
. /mnt/payload/guest-lib.sh

kconfig() { grep -E "^(# )?$1[= ]" "/boot/config-$2" 2>/dev/null; }
# The transient unit's journal line from $1 (epoch seconds) on, waiting up to
# $2 seconds.
transient_line() { journal_line 0 "running kexec -l in the transient unit kexecd-load-" "$2" -u kexecd.service --since "@$1"; }
# What a staging through the fallback must leave: kexecd's own unit with
# CAP_SYS_BOOT alone, exposure <= 2.0, no copies left in /run/kexecd/load.
# Sets why[] (the caller's).
check_fallback_left() {
    local caps score
    caps=$(systemctl show -P CapabilityBoundingSet kexecd.service)
    [[ $caps == cap_sys_boot ]] || why+=("kexecd.service's CapabilityBoundingSet is '$caps', not cap_sys_boot alone")
    score=$(systemd-analyze security kexecd.service --no-pager 2>&1 | grep -o 'exposure level for kexecd.service: [0-9.]*' | awk '{print $NF}')
    if [[ -z $score ]] || ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
        why+=("systemd-analyze security kexecd.service: exposure '${score:-none}', not <= 2.0")
    fi
    [[ -z $(ls -A /run/kexecd/load 2>/dev/null) ]] || why+=("copies left in /run/kexecd/load: $(ls -A /run/kexecd/load | tr '\n' ' ')")
    SCORE=$score
}

# 17, first half (boot 1): the daemon, started at boot, staged the newest
# kernel on its own through kexec -l in a transient unit.
assert_17_boot1() {
    local why=() line k
    for k in "$BOOT_KVER" "$NEW_KVER"; do
        kconfig CONFIG_KEXEC_FILE "$k" | grep -q 'is not set' ||
            info "17: $k's config has '$(kconfig CONFIG_KEXEC_FILE "$k")', not '# CONFIG_KEXEC_FILE is not set'"
    done
    if ! wait_prop StagedVersion "$NEW_KVER" 300 || ! wait_prop Loaded true 10; then
        fail 17 "not staged within 300 s: $(summary) StagedKernel='$(prop StagedKernel)'; kexecd: $(journalctl -b -u kexecd.service -o cat --no-pager | tail -8 | tr '\n' '|')"
        return 1
    fi
    timing a64-stage-after-boot "$(awk '{print $1}' /proc/uptime)"
    line=$(transient_line 0 10) || why+=("staged, but kexecd never said it ran kexec -l in a transient unit: $(journalctl -b -u kexecd.service -o cat --no-pager | tail -6 | tr '\n' '|')")
    [[ $(prop StagedKernel) == "/boot/vmlinuz-$NEW_KVER" ]] || why+=("StagedKernel is '$(prop StagedKernel)'")
    [[ $(cat /sys/kernel/kexec_loaded) == 1 ]] || why+=("/sys/kernel/kexec_loaded is $(cat /sys/kernel/kexec_loaded)")
    check_fallback_left
    if ((${#why[@]})); then
        fail_each 17
        return 1
    fi
    info "17: '$line'; CapabilityBoundingSet=cap_sys_boot, exposure $SCORE; cmdline '$(prop StagedCmdline)'"
    state_set P17_LINE "$line"
    state_set P17_SCORE "$SCORE"
    cp /proc/cmdline "$P/cmdline-boot1"
}

# 18. The unprivileged user is refused by polkit; reading is allowed.
assert_18() {
    local why=() before out
    before=$(summary)
    refused 18 "Stage string: string: boolean:false" "Unstage boolean:false" "Reboot boolean:false" ||
        why+=("a call was not refused (above)")
    [[ $(summary) == "$before" ]] || why+=("refused calls changed the state: $before -> $(summary)")
    out=$(user_call ListKernels)
    grep -q "$NEW_KVER" <<<"$out" || why+=("uid 1000 ListKernels: $(tr '\n' ' ' <<<"$out" | cut -c1-300)")
    conclude 18 "polkit refused Stage, Unstage and Reboot to uid 1000, who can list kernels; nothing changed"
}

# 17, second half (boot 2): systemctl kexec booted the staged kernel.
assert_17() {
    local why=() cmdline_now
    check_kexec_boot "$NEW_KVER" "$P/cmdline-boot1"
    timing a64-phase17 "$(phase_time P17_T0)"
    conclude 17 "staged through the fallback ('$(state_get P17_LINE)'; kexecd.service: cap_sys_boot alone," \
        "exposure $(state_get P17_SCORE)); systemctl kexec booted $NEW_KVER (new boot id); cmdline '$cmdline_now'"
}

# 19, first half (boot 2): $NEW_KVER's Image, gzip'd, is its only image:
# staged by kexecctl (it is the running kernel: nothing newer to stage on
# its own), kexecd decompresses it into memory and loads that through the
# fallback.
prepare_19() {
    local k=/boot/vmlinuz-$NEW_KVER t0 why=() line out
    state_set P19_T0 "$(now)"
    gzip -1 -c "$k" >"$k.gz.tmp" && mv "$k.gz.tmp" "$k" || { fail 19 "could not gzip $k"; return 1; }
    [[ $(od -An -tx1 -N2 "$k" | tr -d ' ') == 1f8b ]] || { fail 19 "$k is not gzip after gzip"; return 1; }
    info "19: $k is now gzip'd ($(stat -c %s "$k") bytes); kexecctl stage $NEW_KVER"
    t0=$(date +%s)
    if ! out=$(kexecctl --no-ask-password stage "$NEW_KVER" 2>&1) || ! wait_prop Loaded true 10; then
        fail 19 "kexecctl stage $NEW_KVER: $(tr '\n' ' ' <<<"$out"); $(summary); kexecd: $(journalctl -b -u kexecd.service -o cat --no-pager | tail -8 | tr '\n' '|')"
        return 1
    fi
    timing a64-gzip-stage "$(elapsed "$t0" "$(now)")"
    [[ $(prop StagedKernel) == "$k" ]] || why+=("StagedKernel is '$(prop StagedKernel)', not $k")
    line=$(journal_line 0 "$k: gzip image, decompressed into memory" 10 -u kexecd.service --since "@$t0") ||
        why+=("kexecd did not say it decompressed $k: $(journalctl -b -u kexecd.service -o cat --no-pager | tail -6 | tr '\n' '|')")
    transient_line "$t0" 10 >/dev/null || why+=("not loaded through the transient unit")
    check_fallback_left
    if ((${#why[@]})); then
        fail_each 19
        return 1
    fi
    info "19: '$line'"
    state_set P19_LINE "$line"
    reboot_into gzip 19 systemctl kexec
}

# 19, second half (boot 3).
assert_19() {
    local why=() cmdline_now
    check_kexec_boot "$NEW_KVER" "$P/cmdline-boot1"
    timing a64-phase19 "$(phase_time P19_T0)"
    conclude 19 "a gzip'd $NEW_KVER as its only image: '$(state_get P19_LINE)', loaded by kexec -l" \
        "in a transient unit, booted by systemctl kexec (new boot id)"
}

case ${phase:-start} in
start)
    timing a64-boot1-userspace "$(awk '{print $1}' /proc/uptime)"
    if assert_17_boot1; then
        assert_18
        state_set P17_T0 "$(now)"
        reboot_into kexec 17 systemctl kexec
    else
        assert_18
    fi
    not_attempted 19
    finish
    ;;
kexec)
    timing a64-boot2-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_17
    prepare_19
    finish
    ;;
gzip)
    timing a64-boot3-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_19
    finish
    ;;
*)
    fail 0 "unexpected reboot in phase '$phase'"
    finish
    ;;
esac
