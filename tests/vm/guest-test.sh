#!/bin/bash
# The guest half of the kexecd VM test. kexecd-vm-test.service (baked into the
# image by build-image) runs it at every boot from the payload disk, mounted
# at /mnt/payload. The phase survives the kexec in /mnt/payload/state.
#
# Seven boots, one qemu process (run-vm-test counts the firmware starts):
#   boot 1  qemu -kernel $BOOT_KVER, with $ONESHOT_PARAM "typed at the menu":
#           1, 6 (first half); systemctl kexec
#   boot 2  kexec into $NEW_KVER: 2, 6, 3, 4, 5, 7 (first half:
#           CmdlineSource=bootloader, update-grub, rescan); systemctl kexec
#   boot 3  kexec into $NEW_KVER with grub.cfg's command line: 7;
#           touch /no-kexec-reboot; systemctl kexec
#   boot 4  through the firmware (qemu -kernel $BOOT_KVER again): 8;
#           grub-reboot; kexecctl reboot
#   boot 5  through the firmware again: 9, 10 and 11 (first half: a UKI of
#           $NEW_KVER in /boot/EFI/Linux, [Reboot] UseKexec=yes); reboot
#   boot 6  kexec into the UKI's $NEW_KVER: 10, 11, 12 (first half:
#           kexec_file_load blocked in kexecd.service); systemctl kexec
#   boot 7  kexec (kexec -l in a transient unit) into the UKI: 12
#
# Results go to the serial console and to /mnt/payload/results, one line each:
#   KEXECD-VM: PASS N text | FAIL N text | INFO text | TIME key seconds | DONE
# run-vm-test (on the host) reads them.
# guest-lib.sh: output, state, helpers, and the start of every boot ($phase).
. /mnt/payload/guest-lib.sh
# ONESHOT_PARAM: on qemu's -append, not in grub.cfg ("typed at the boot menu")
. "/mnt/payload/vm.env"
# Added to GRUB_CMDLINE_LINUX by assertion 7; only grub.cfg's entries have it.
GRUB_PARAM=kexecd.fromgrub=1
GRUB_CFG=/boot/grub/grub.cfg
EXTRA_DEB=$P/extra.deb

# The arguments of grub.cfg's normal (not recovery) entry for kernel $1: what
# GRUB would boot that kernel with.
grub_args() {
    awk -v k="/boot/vmlinuz-$1" '$1 == "linux" && $2 == k {
        a = ""; for (i = 3; i <= NF; i++) a = a (a == "" ? "" : " ") $i
        if (a !~ /(^| )(single|recovery)( |$)/) { print a; exit } }' "$GRUB_CFG" 2>/dev/null
}

#    newest kernel without anyone asking.
assert_1() {
    local t0 active
    t0=$(now)
    active=$(systemctl is-active kexecd.service)
    info "kexecd.service before the first D-Bus call: $active (enabled: $(systemctl is-enabled kexecd.service 2>&1))"
    if wait_prop StagedVersion "$NEW_KVER" 120 && wait_prop Loaded true 10; then
        local origin kernel
        origin=$(prop StagedOrigin) kernel=$(prop StagedKernel)
        timing stage-after-boot "$(awk '{print $1}' /proc/uptime)"
        if [[ $(cat /sys/kernel/kexec_loaded) == 1 && $origin == kexecd && $kernel == "/boot/vmlinuz-$NEW_KVER" ]]; then
            pass 1 "kexecd staged $NEW_KVER on its own (Loaded true, StagedOrigin kexecd, $kernel," \
                "initrds $(prop StagedInitrds), cmdline '$(prop StagedCmdline)')"
            return 0
        fi
        fail 1 "StagedVersion is $NEW_KVER but: $(summary) StagedKernel='$kernel'"
    else
        fail 1 "after 120 s: $(summary); expected StagedVersion '$NEW_KVER' (NewestVersion '$(prop NewestVersion)', kexecd.service $(systemctl is-active kexecd.service))"
        info "ListKernels: $(busctl call "${BUS[@]}" ListKernels 2>&1)"
    fi
    return 1
}

# 2, first half: record this boot and kexec into the staged kernel.
kexec_now() {
    state_set BOOT1_ID "$(cat /proc/sys/kernel/random/boot_id)"
    state_set BOOT1_UNAME "$(uname -r)"
    state_set BOOT1_LOADER "$(loader_type)"
    cp /proc/cmdline "$P/cmdline-boot1"
    state_set PHASE kexec
    dump_journal
    info "boot 1 done; systemctl kexec now"
    local out
    if ! out=$(systemctl kexec 2>&1); then
        state_set PHASE boot1-after-kexec-failure
        fail 2 "systemctl kexec failed: $out"
        return 1
    fi
    # systemd now takes the system down; wait to be stopped.
    sleep 180
    state_set PHASE boot1-after-kexec-failure
    fail 2 "systemctl kexec returned but the system is still up after 180 s"
    return 1
}

# 2, second half: this boot is the staged kernel, started by kexec.
assert_2() {
    local ok=1 why=() c1 c2 loader
    [[ $(uname -r) == "$NEW_KVER" ]] || { ok=0; why+=("uname -r is $(uname -r), not $NEW_KVER"); }
    # The same command line, less BOOT_IMAGE= (a boot loader's addition) and
    # the parameter typed at the boot menu (6).
    c1=$(without "$(norm <"$P/cmdline-boot1")" "$ONESHOT_PARAM")
    c2=$(proc_cmdline)
    [[ $c1 == "$c2" ]] || { ok=0; why+=("/proc/cmdline is '$c2', expected '$c1' (boot 1: '$(cat "$P/cmdline-boot1")')"); }
    grep -q 'BOOT_IMAGE=' "$P/cmdline-boot1" || { ok=0; why+=("boot 1 had no BOOT_IMAGE= to drop"); }
    grep -q 'BOOT_IMAGE=' /proc/cmdline && { ok=0; why+=("BOOT_IMAGE= was passed on"); }
    [[ $(cat /proc/sys/kernel/random/boot_id) != "$(state_get BOOT1_ID)" ]] || { ok=0; why+=("same boot id"); }
    loader=$(loader_type)
    [[ $loader == d0 ]] || { ok=0; why+=("boot_params type_of_loader is 0x$loader, not 0xd0 (kexec)"); }
    info "boot 1 shutdown: $(journalctl -b -1 -o cat -u kexecd-verify.service 2>/dev/null | grep -v -e '^Start' -e '^Finish' -e '^kexecd-verify' | tail -2 | tr '\n' ' ')"
    [[ $(state_get BOOT1_LOADER) == b0 ]] || info "boot 1 type_of_loader was 0x$(state_get BOOT1_LOADER) (expected 0xb0, qemu)"
    if ((ok)); then
        pass 2 "booted $NEW_KVER by kexec (type_of_loader 0x$(state_get BOOT1_LOADER) -> 0x$loader)," \
            "cmdline '$c2' = boot 1's less BOOT_IMAGE= and $ONESHOT_PARAM, boot id $(state_get BOOT1_ID) -> $(cat /proc/sys/kernel/random/boot_id)"
    else
        fail_each 2
    fi
}

# 3. polkit (the real polkitd) refuses the unprivileged user every change and
#    lets it read.
assert_3() {
    local ok=1 out before_v before_l
    before_v=$(prop StagedVersion) before_l=$(prop Loaded)
    id "$TESTER" >/dev/null 2>&1 || { fail 3 "no user $TESTER"; return; }
    state_set PHASE polkit  # a reboot from here on is a failure
    refused 3 "StageNewest boolean:false" "Stage string: string: boolean:false" \
        "Stage string:$BOOT_KVER string: boolean:false" "Unstage boolean:false" \
        "Reboot boolean:false" "Rescan boolean:false" "Unstage boolean:true" "Reboot boolean:true" || ok=0
    # kexecctl maps a refusal to exit status 4.
    local rc
    as_tester kexecctl --no-ask-password unstage >/dev/null 2>&1
    rc=$?
    [[ $rc == 4 ]] || { ok=0; fail 3 "uid 1000 'kexecctl --no-ask-password unstage' exited $rc, not 4"; }
    state_set PHASE boot2
    # Nothing changed.
    [[ $(prop StagedVersion) == "$before_v" && $(prop Loaded) == "$before_l" ]] ||
        { ok=0; fail 3 "state changed by refused calls: before '$before_v' $before_l, now $(summary)"; }
    # Reading is allowed.
    out=$(user_call ListKernels)
    if grep -q "$NEW_KVER" <<<"$out" && grep -q "$BOOT_KVER" <<<"$out"; then
        info "uid 1000 ListKernels: ok ($(grep -c 'string "/boot/vmlinuz' <<<"$out") kernels)"
    else
        ok=0; fail 3 "uid 1000 ListKernels: $(tr '\n' ' ' <<<"$out")"
    fi
    out=$(as_tester busctl get-property "${BUS[@]}" StagedVersion Loaded RunningVersion NewestVersion StagedOrigin AutoStage 2>&1)
    if [[ $(head -1 <<<"$out") == "s \"$before_v\"" && $(sed -n 3p <<<"$out") == "s \"$(uname -r)\"" ]]; then
        info "uid 1000 reads properties: $(tr '\n' ' ' <<<"$out")"
    else
        ok=0; fail 3 "uid 1000 busctl get-property: $(tr '\n' ' ' <<<"$out")"
    fi
    for m in status list; do
        out=$(as_tester kexecctl "$m" 2>&1) || { ok=0; fail 3 "uid 1000 kexecctl $m failed: $(tr '\n' ' ' <<<"$out")"; }
    done
    ((ok)) && pass 3 "polkitd refused uid 1000 StageNewest/Stage/Unstage/Reboot/Rescan; it can ListKernels, read properties, kexecctl status/list"
}

# 4. Installing a kernel package re-stages within seconds of dpkg finishing;
#    removing the staged kernel's package unstages or re-stages.
assert_4() {
    local t0 t1 t2 out ok=1 v install_s
    [[ $(uname -r) != "$EXTRA_KVER" ]] || { fail 4 "running $EXTRA_KVER: would remove the running kernel"; return; }
    t0=$(now)
    if ! out=$(logged dpkg-install dpkg -i "$EXTRA_DEB"); then
        fail 4 "dpkg -i $EXTRA_DEB failed: $(tail -5 <<<"$out" | tr '\n' ' ')"
        return
    fi
    t1=$(now)
    timing dpkg-install "$(elapsed "$t0" "$t1")"
    if wait_prop StagedVersion "$EXTRA_KVER" 60 && wait_prop Loaded true 5; then
        t2=$(now)
        timing restage-after-install "$(elapsed "$t1" "$t2")"
        info "installed $EXTRA_PKG: staged $EXTRA_KVER $(elapsed "$t1" "$t2") s after dpkg finished (dpkg took $(elapsed "$t0" "$t1") s)"
        # The staged initrd must be the one dpkg's initramfs trigger left.
        v=$(prop StagedInitrds)
        grep -q "/boot/initrd.img-$EXTRA_KVER" <<<"$v" || { ok=0; fail 4 "StagedInitrds $v lacks /boot/initrd.img-$EXTRA_KVER"; }
        install_s=$(elapsed "$t1" "$t2")
        if awk -v s="$install_s" 'BEGIN { exit !(s > 15) }'; then
            ok=0; fail 4 "re-staging took $install_s s after dpkg finished (limit 15 s)"
        fi
        # Never a half-written initrd: what kexecd recorded when it staged
        # must be the files dpkg left (the kexec.target hook's own check).
        v=$(/usr/libexec/kexecd --verify-staged 2>&1 | tail -1)
        if [[ $v == *"staged kernel $EXTRA_KVER matches /boot"* ]]; then
            info "kexecd --verify-staged: $v"
        else
            ok=0; fail 4 "kexecd --verify-staged after the install: '$v' (staged files differ from /boot?)"
        fi
    else
        fail 4 "60 s after installing $EXTRA_PKG: $(summary)"
        return
    fi
    t0=$(now)
    if ! out=$(logged dpkg-remove dpkg -r "$EXTRA_PKG"); then
        fail 4 "dpkg -r $EXTRA_PKG failed: $(tail -5 <<<"$out" | tr '\n' ' ')"
        return
    fi
    t1=$(now)
    timing dpkg-remove "$(elapsed "$t0" "$t1")"
    local deadline=$(($(date +%s) + 60)) how=""
    while (($(date +%s) < deadline)); do
        v=$(prop StagedVersion)
        if [[ $v == "$NEW_KVER" && $(prop Loaded) == true ]]; then how="re-staged $NEW_KVER"; break; fi
        if [[ -z $v && $(prop Loaded) == false && $(cat /sys/kernel/kexec_loaded) == 0 ]]; then how="unstaged"; break; fi
        sleep 0.2
    done
    t2=$(now)
    if [[ -n $how ]]; then
        timing restage-after-remove "$(elapsed "$t1" "$t2")"
        info "removed $EXTRA_PKG: $how $(elapsed "$t1" "$t2") s after dpkg finished"
    else
        ok=0; fail 4 "60 s after removing $EXTRA_PKG: $(summary)"
    fi
    ((ok)) && pass 4 "dpkg -i $EXTRA_PKG: staged $EXTRA_KVER $install_s s after dpkg finished; dpkg -r: $how $(elapsed "$t1" "$t2") s after"
}

# 5. SIGKILL leaves the staged kernel loaded; the restarted daemon reports it.
assert_5() {
    local v pid pid2 loaded deadline how
    v=$(prop StagedVersion)
    [[ -n $v && $(prop Loaded) == true ]] || { fail 5 "nothing staged before the kill: $(summary)"; return; }
    pid=$(systemctl show -P MainPID kexecd.service)
    info "kexecd.service processes before the kill: $(ps -o pid=,ppid=,etimes=,args= -p "$(xargs </sys/fs/cgroup/system.slice/kexecd.service/cgroup.procs | tr ' ' ,)" 2>&1 | xargs -d '\n' -n1 echo | paste -sd ';')"
    systemctl kill -s KILL kexecd.service
    deadline=$(($(date +%s) + 10))
    while kill -0 "$pid" 2>/dev/null && (($(date +%s) < deadline)); do sleep 0.1; done
    loaded=$(cat /sys/kernel/kexec_loaded)
    # Restart=on-failure brings it back; failing that, D-Bus activation does on the next call.
    deadline=$(($(date +%s) + 15)) how="D-Bus activation"
    while (($(date +%s) < deadline)); do
        pid2=$(systemctl show -P MainPID kexecd.service)
        if [[ $pid2 != 0 && $pid2 != "$pid" ]]; then how="systemd restart"; break; fi
        sleep 0.2
    done
    info "kexecd pid $pid killed; kexec_loaded then $loaded; back by $how ($(systemctl show -P NRestarts kexecd.service) restarts)"
    if [[ $loaded != 1 ]]; then
        fail 5 "/sys/kernel/kexec_loaded was $loaded after SIGKILL"
        return
    fi
    if wait_prop StagedVersion "$v" 30 && [[ $(prop StagedOrigin) == kexecd && $(prop Loaded) == true ]]; then
        pass 5 "after SIGKILL the kernel stayed loaded; restarted kexecd ($how, pid $(systemctl show -P MainPID kexecd.service)) reports StagedVersion $v, StagedOrigin kexecd"
    else
        fail 5 "restarted kexecd reports: $(summary); expected StagedVersion '$v', StagedOrigin 'kexecd'"
    fi
}

# --- issue 6: what a cold reboot would boot, or step aside ---------------------

# Evidence that this boot came through the firmware: qemu's -kernel again,
# not the kernel kexecd had staged. Sets why[] (the caller's) on a failure.
check_cold_boot() {
    local staged_cmdline=$1 loader
    loader=$(loader_type)
    [[ $(uname -r) == "$BOOT_KVER" ]] || why+=("running $(uname -r): not qemu's -kernel $BOOT_KVER (the staged kernel was $NEW_KVER)")
    [[ $loader == b0 ]] || why+=("boot_params type_of_loader is 0x$loader, not 0xb0 (qemu's loader, started by the firmware; 0xd0 is kexec)")
    [[ $(boot_id) != "$(state_get BOOT_ID_BEFORE)" ]] || why+=("same boot id")
    has_word "$(proc_cmdline)" "$ONESHOT_PARAM" || why+=("/proc/cmdline lacks qemu's $ONESHOT_PARAM: '$(proc_cmdline)'")
    if has_word "$staged_cmdline" "$GRUB_PARAM" && has_word "$(proc_cmdline)" "$GRUB_PARAM"; then
        why+=("/proc/cmdline has $GRUB_PARAM, which only the staged command line had")
    fi
}

# 6, first half (boot 1, booted with $ONESHOT_PARAM that grub.cfg does not
# have): kexecd's staged command line lacks it and the journal says why.
assert_6_boot1() {
    local t0 ok=1 entry want staged line
    t0=$(now)
    entry=$(grub_args "$BOOT_KVER")
    if [[ -z $entry ]]; then
        ok=0; fail 6 "$GRUB_CFG has no normal entry for $BOOT_KVER ($(ls -l "$GRUB_CFG" 2>&1); kexecd-vm-grub.service: $(systemctl is-active kexecd-vm-grub.service))"
    elif [[ $entry != "root=/dev/vda ro $GRUB_CMDLINE_LINUX" ]]; then
        ok=0; fail 6 "$GRUB_CFG gives $BOOT_KVER '$entry', expected 'root=/dev/vda ro $GRUB_CMDLINE_LINUX' (qemu's -append less BOOT_IMAGE= and $ONESHOT_PARAM)"
    fi
    has_word "$(proc_cmdline)" "$ONESHOT_PARAM" || { ok=0; fail 6 "booted without $ONESHOT_PARAM: '$(proc_cmdline)'"; }
    want=$(without "$(proc_cmdline)" "$ONESHOT_PARAM")
    staged=$(prop StagedCmdline)
    if [[ $staged != "$want" ]]; then
        ok=0; fail 6 "StagedCmdline is '$staged', expected '$want' (/proc/cmdline less BOOT_IMAGE= and $ONESHOT_PARAM)"
    fi
    if line=$(journal_line 0 "not carrying over $ONESHOT_PARAM " 10 -u kexecd.service); then
        [[ $line == *"typed at the boot menu: not in the entry of GRUB ($GRUB_CFG)"* ]] ||
            { ok=0; fail 6 "kexecd's journal says '$line': expected 'typed at the boot menu: not in the entry of GRUB ($GRUB_CFG)'"; }
    else
        ok=0; fail 6 "no 'not carrying over $ONESHOT_PARAM' in kexecd's journal: $(journalctl -b -u kexecd.service -o cat --no-pager | tail -5 | tr '\n' '|')"
    fi
    timing phase6-boot1 "$(elapsed "$t0" "$(now)")"
    if ((ok)); then
        state_set P6_BOOT1 ok
        state_set P6_JOURNAL "$line"
        info "6, boot 1: /proc/cmdline has $ONESHOT_PARAM, grub.cfg's $BOOT_KVER entry has '$entry'; StagedCmdline '$staged'; kexecd: '$line'"
    fi
}

# 6, second half (boot 2, kexec'd): the new kernel did not get it.
assert_6_boot2() {
    local c
    c=$(proc_cmdline)
    if has_word "$c" "$ONESHOT_PARAM"; then
        fail 6 "the kexec'd kernel got $ONESHOT_PARAM: /proc/cmdline '$c'"
    elif [[ $(state_get P6_BOOT1) != ok ]]; then
        fail 6 "the kexec'd boot lacks $ONESHOT_PARAM, but boot 1's checks failed (above)"
    elif [[ $(uname -r) != "$NEW_KVER" || $(loader_type) != d0 ]]; then
        fail 6 "not the kexec'd kernel: $(uname -r), type_of_loader 0x$(loader_type)"
    else
        pass 6 "booted with $ONESHOT_PARAM (not in grub.cfg's entry for $BOOT_KVER): not staged," \
            "kexecd logged '$(state_get P6_JOURNAL)'; the kexec'd $NEW_KVER has /proc/cmdline '$c'"
    fi
}

median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
# --- figures (issue 10): printed as TIME lines, never pass/fail ---------------
# Stage() over D-Bus (polkit included) against kexec-tools' `kexec -s -l` on
# the same kernel, initrd and command line: paired, the first of each pair
# alternating, n = 7, medians and their ratio. Then how long
# kexecd-verify.service runs (on the shutdown path) when nothing changed,
# and `systemctl stop kexecd`. Leaves the kernel staged by kexecd, as found.
figures() {
    local n=7 i who t0 v cmdline k initrd out ours=() tool=() rtt=() scan=() kexec=/usr/local/lib/kexecd-vm/kexec
    v=$(prop StagedVersion) cmdline=$(prop StagedCmdline)
    k=/boot/vmlinuz-$v initrd=/boot/initrd.img-$v
    if [[ -z $v || ! -x $kexec || ! -f $initrd ]]; then
        info "FIGURES NOT MEASURED: staged '$v', $kexec $([[ -x $kexec ]] || echo missing), $initrd $([[ -f $initrd ]] || echo missing)"
        return
    fi
    busctl call "${BUS[@]}" Unstage b false >/dev/null || { info "FIGURES NOT MEASURED: Unstage failed"; return; }
    for ((i = 0; i < n; i++)); do
        for who in $( ((i % 2)) && echo "tool ours" || echo "ours tool"); do
            t0=$(now)
            if [[ $who == ours ]]; then
                busctl call "${BUS[@]}" Stage ssb "$v" "" false >/dev/null || { info "FIGURES NOT MEASURED: Stage($v) failed"; break 2; }
                ours+=("$(elapsed "$t0" "$(now)")")
                busctl call "${BUS[@]}" Unstage b false >/dev/null
            else
                out=$("$kexec" -s -l "$k" --initrd="$initrd" --command-line="$cmdline" 2>&1) ||
                    { info "FIGURES NOT MEASURED: kexec -s -l failed: $(tail -3 <<<"$out" | tr '\n' ' ')"; break 2; }
                tool+=("$(elapsed "$t0" "$(now)")")
                "$kexec" -s -u
            fi
        done
    done
    if ((${#ours[@]} == n && ${#tool[@]} == n)); then
        local mo mt
        mo=$(median "${ours[@]}") mt=$(median "${tool[@]}")
        info "Stage() ${ours[*]} s; kexec -s -l ${tool[*]} s"
        timing stage-median "$mo"
        timing kexec-tool-median "$mt"
        timing stage-ratio "$(awk -v a="$mo" -v b="$mt" 'BEGIN { printf "%.3f", a / b }')"
    fi
    # Where Stage()'s extra time goes: busctl's start and a bus round trip
    # (a property read), and the same plus kexecd's scan of /boot and the
    # boot loader (ListKernels, which Stage() runs first). The rest is polkit
    # and state.json written with fsync.
    for ((i = 0; i < n; i++)); do
        t0=$(now)
        busctl get-property "${BUS[@]}" Loaded >/dev/null
        rtt+=("$(elapsed "$t0" "$(now)")")
        t0=$(now)
        busctl call "${BUS[@]}" ListKernels >/dev/null
        scan+=("$(elapsed "$t0" "$(now)")")
    done
    timing busctl-roundtrip "$(median "${rtt[@]}")"
    timing busctl-listkernels "$(median "${scan[@]}")"
    busctl call "${BUS[@]}" StageNewest b false >/dev/null || info "re-staging after the figures failed: $(summary)"
    wait_prop Loaded true 30 || info "after the figures: $(summary)"

    # The check itself, then the unit as systemd runs it on the way to
    # kexec.target (systemctl waits for a oneshot to finish; its own round
    # trip is included). Wall time: the unit's Inactive{Exit,Enter} and
    # ExecMain timestamps gave 0 here.
    t0=$(now)
    /usr/libexec/kexecd --verify-staged >/dev/null 2>&1
    timing verify-run "$(elapsed "$t0" "$(now)")"
    t0=$(now)
    systemctl start kexecd-verify.service
    timing verify-unit "$(elapsed "$t0" "$(now)")"
    t0=$(now)
    systemctl stop kexecd.service
    timing kexecd-stop "$(elapsed "$t0" "$(now)")"
    systemctl start kexecd.service
    wait_prop Loaded true 30 || info "after restarting kexecd: $(summary)"
}

# 7, first half (boot 2): [Stage] CmdlineSource=bootloader; the administrator
# adds $GRUB_PARAM to GRUB_CMDLINE_LINUX and runs update-grub; kexecctl rescan
# stages grub.cfg's command line for the target kernel. Then systemctl kexec.
prepare_7() {
    local t0 out rc want before staged
    state_set P7_T0 "$(now)"
    mkdir -p /etc/kexecd.conf.d
    printf '[Stage]\nCmdlineSource=bootloader\n' >/etc/kexecd.conf.d/50-vm-test-cmdline-source.conf
    # kexecd reads its configuration at start.
    systemctl restart kexecd.service || { fail 7 "systemctl restart kexecd failed: $(systemctl status kexecd.service 2>&1 | tail -5 | tr '\n' '|')"; }
    if ! wait_prop StagedVersion "$NEW_KVER" 60 || ! wait_prop Loaded true 10; then
        fail 7 "after the restart with CmdlineSource=bootloader: $(summary); expected $NEW_KVER staged"
    fi
    before=$(prop StagedCmdline)
    sed -i "s/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX $GRUB_PARAM\"/" /etc/default/grub
    t0=$(now)
    if ! out=$(logged update-grub update-grub); then
        fail 7 "update-grub failed: $(tail -5 <<<"$out" | tr '\n' ' ')"
    fi
    timing update-grub "$(elapsed "$t0" "$(now)")"
    want=$(grub_args "$NEW_KVER")
    has_word "$want" "$GRUB_PARAM" || fail 7 "update-grub left $NEW_KVER's entry without $GRUB_PARAM: '$want'"
    t0=$(now)
    out=$(kexecctl --no-ask-password rescan 2>&1)
    rc=$?
    timing rescan "$(elapsed "$t0" "$(now)")"
    staged=$(prop StagedCmdline)
    info "7: after update-grub, kexecctl rescan (exit $rc: $(tr '\n' ' ' <<<"$out")): StagedVersion $(prop StagedVersion), StagedCmdline '$staged' (before '$before'); grub.cfg's $NEW_KVER entry '$want'"
    if [[ $rc == 0 && $staged == "$want" && -n $want ]]; then
        state_set P7_RESCAN ok
    else
        fail 7 "after update-grub and 'kexecctl rescan' (exit $rc) StagedCmdline is '$staged', expected grub.cfg's entry for $NEW_KVER '$want'"
        info "7: kexecctl status: $(kexecctl status 2>&1 | tr '\n' '|')"
        # So that the kexec half still runs: stage again by hand.
        out=$(kexecctl --no-ask-password stage 2>&1)
        staged=$(prop StagedCmdline)
        info "7: kexecctl stage (exit $?: $(tr '\n' ' ' <<<"$out")): StagedCmdline '$staged'"
    fi
    state_set STAGED7_CMDLINE "$staged"
    state_set BOOT2_ID "$(boot_id)"
    reboot_into grub-kexec 7 systemctl kexec
}

# 7, second half (boot 3): the kexec'd kernel runs with grub.cfg's command line.
assert_7() {
    local c why=() loader staged
    c=$(proc_cmdline) staged=$(state_get STAGED7_CMDLINE) loader=$(loader_type)
    [[ $(uname -r) == "$NEW_KVER" ]] || why+=("running $(uname -r), not $NEW_KVER")
    [[ $loader == d0 ]] || why+=("type_of_loader 0x$loader, not 0xd0 (kexec)")
    [[ $(boot_id) != "$(state_get BOOT_ID_BEFORE)" ]] || why+=("same boot id")
    has_word "$c" "$GRUB_PARAM" || why+=("/proc/cmdline lacks $GRUB_PARAM: '$c'")
    [[ $c == "$staged" ]] || why+=("/proc/cmdline '$c' is not the staged '$staged'")
    has_word "$c" "$ONESHOT_PARAM" && why+=("/proc/cmdline has $ONESHOT_PARAM")
    timing phase7 "$(phase_time P7_T0)"
    if ((${#why[@]})); then
        fail_each 7
    elif [[ $(state_get P7_RESCAN) != ok ]]; then
        fail 7 "the kexec'd boot has $GRUB_PARAM only because the test staged again by hand after 'kexecctl rescan' left the old command line (above)"
    else
        pass 7 "CmdlineSource=bootloader: $GRUB_PARAM added to GRUB_CMDLINE_LINUX, update-grub, kexecctl rescan:" \
            "StagedCmdline = grub.cfg's $NEW_KVER entry; after systemctl kexec /proc/cmdline is '$c' (type_of_loader 0x$loader)"
    fi
}

# 8, first half (boot 3): /no-kexec-reboot, then systemctl kexec.
prepare_8() {
    local staged
    state_set P8_T0 "$(now)"
    if ! wait_prop StagedVersion "$NEW_KVER" 120 || ! wait_prop Loaded true 10; then
        fail 8 "not attempted: nothing staged at boot $BOOTNO: $(summary)"
        return 1
    fi
    staged=$(prop StagedCmdline)
    info "8: AutoStage at this boot's start staged $NEW_KVER with '$staged'" \
        "($(has_word "$staged" "$GRUB_PARAM" && echo "grub.cfg's, CmdlineSource=bootloader" || echo "NOT grub.cfg's"))"
    state_set STAGED8_CMDLINE "$staged"
    touch /no-kexec-reboot
    sync
    reboot_into stepaside-kexec 8 systemctl kexec
}

# 8, second half (boot 4): that went through the firmware, and the previous
# boot's journal says why.
assert_8() {
    local why=() line
    check_cold_boot "$(state_get STAGED8_CMDLINE)"
    if line=$(journal_line -1 "stepping aside before the kexec: " 0); then
        [[ $line == *"/no-kexec-reboot exists"* ]] || why+=("the step-aside line does not name /no-kexec-reboot: '$line'")
        info "8: boot $((BOOTNO - 1)) shutdown: $(journalctl -b -1 -o cat -u kexecd-verify.service --no-pager 2>/dev/null | grep -v -e '^Start' -e '^Finish' -e '^kexecd-verify' | tail -3 | tr '\n' '|')"
    else
        why+=("no 'stepping aside before the kexec' in boot $((BOOTNO - 1))'s journal; kexecd-verify said: $(journalctl -b -1 -o cat -u kexecd-verify.service --no-pager 2>&1 | tail -3 | tr '\n' '|')")
    fi
    rm -f /no-kexec-reboot
    # AutoStage stages again at the next start.
    wait_prop StagedVersion "$NEW_KVER" 120 && wait_prop Loaded true 10 ||
        why+=("nothing staged again at this boot's start: $(summary)")
    timing phase8 "$(phase_time P8_T0)"
    if ((${#why[@]})); then
        fail_each 8
    else
        pass 8 "/no-kexec-reboot + systemctl kexec: a firmware reboot (qemu's -kernel $BOOT_KVER, type_of_loader 0x$(loader_type)," \
            "no $GRUB_PARAM); boot $((BOOTNO - 1)) logged '$line'; $NEW_KVER staged again"
    fi
}

# 9, first half (boot 4): grub-reboot (grubenv next_entry), then kexecctl
# reboot (D-Bus Reboot(), not the kexec.target hook).
prepare_9() {
    local entry out
    state_set P9_T0 "$(now)"
    entry="Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux $BOOT_KVER"
    grep -qF "'Debian GNU/Linux, with Linux $BOOT_KVER'" "$GRUB_CFG" || info "9: no entry titled 'Debian GNU/Linux, with Linux $BOOT_KVER' in $GRUB_CFG"
    if ! out=$(grub-reboot "$entry" 2>&1) || [[ $(grub-editenv /boot/grub/grubenv list) != *"next_entry=$entry"* ]]; then
        fail 9 "not attempted: grub-reboot failed: $out; grubenv: $(grub-editenv /boot/grub/grubenv list 2>&1 | tr '\n' ' ')"
        return 1
    fi
    state_set NEXT_ENTRY "$entry"
    if ! wait_prop Loaded true 30; then
        fail 9 "not attempted: nothing staged: $(summary)"
        return 1
    fi
    state_set STAGED9_CMDLINE "$(prop StagedCmdline)"
    reboot_into stepaside-reboot 9 kexecctl --no-ask-password reboot
}

# 9, second half (boot 5).
assert_9() {
    local why=() line
    check_cold_boot "$(state_get STAGED9_CMDLINE)"
    if line=$(journal_line -1 "stepping aside at Reboot(): " 0 -u kexecd.service); then
        [[ $line == *"grub-reboot chose a one-shot entry (next_entry="* ]] || why+=("the step-aside line does not name grub-reboot: '$line'")
    else
        why+=("no 'stepping aside at Reboot()' in boot $((BOOTNO - 1))'s kexecd journal: $(journalctl -b -1 -o cat -u kexecd.service --no-pager 2>&1 | tail -3 | tr '\n' '|')")
    fi
    # GRUB clears next_entry when it boots it; no GRUB ran here.
    grub-editenv /boot/grub/grubenv unset next_entry
    timing phase9 "$(phase_time P9_T0)"
    if ((${#why[@]})); then
        fail_each 9
    else
        pass 9 "grub-reboot + kexecctl reboot: a firmware reboot (qemu's -kernel $BOOT_KVER, type_of_loader 0x$(loader_type));" \
            "boot $((BOOTNO - 1)) logged '$line'"
    fi
}

# 10 and 11, first half (boot 5). 10: what an administrator of systemd < 255
# sets up for unattended-upgrades' `shutdown -r`: [Reboot] UseKexec=yes and
# kexec-tools' kexec (here the image's copy, linked where the system-shutdown
# hook looks), then a plain `reboot`. 11: the kernel it boots is a UKI built
# here from $NEW_KVER's files with a .cmdline of its own
# (`objcopy --add-section` onto systemd-stub, as systemd-stub(7) shows), put in
# /boot/EFI/Linux while kexecd runs: a UKI comes before /boot's files of the
# same version, so the /boot watch must stage it from the UKI.
UKI_PARAM=kexecd.fromuki=1
UKI=/boot/EFI/Linux/kexecd-vm-$NEW_KVER.efi
prepare_10() {
    local out
    state_set P10_T0 "$(now)"
    state_set UKI_CMDLINE "root=/dev/vda ro $GRUB_CMDLINE_LINUX $UKI_PARAM"
    if ! out=$(build_uki "$UKI" "$NEW_KVER" "$(state_get UKI_CMDLINE)"); then
        fail 11 "not attempted: objcopy could not build the UKI: $out"
        fail 10 "not attempted: no UKI (above)"
        return 1
    fi
    info "10/11: built $UKI ($(stat -c %s "$UKI") bytes) with .cmdline '$(state_get UKI_CMDLINE)'"
    if ! wait_prop StagedKernel "$UKI" 60 || ! wait_prop Loaded true 10; then
        fail 11 "the /boot watch did not stage $UKI within 60 s: $(summary) StagedKernel='$(prop StagedKernel)'"
        info "ListBootEntries: $(busctl call "${BUS[@]}" ListBootEntries 2>&1 | cut -c1-600)"
        fail 10 "not attempted: the UKI was not staged (above)"
        return 1
    fi
    state_set STAGED11_CMDLINE "$(prop StagedCmdline)"
    state_set STAGED11_VERSION "$(prop StagedVersion)"

    mkdir -p /etc/kexecd.conf.d
    printf '[Reboot]\nUseKexec=yes\n' >/etc/kexecd.conf.d/50-vm-test-use-kexec.conf
    out=$(systemctl reload kexecd.service 2>&1) || info "10: systemctl reload kexecd: $out"
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -e /run/kexecd/reboot-uses-kexec ]] && break
        sleep 0.2
    done
    if [[ ! -e /run/kexecd/reboot-uses-kexec ]]; then
        fail 10 "not attempted: after [Reboot] UseKexec=yes and systemctl reload, no /run/kexecd/reboot-uses-kexec"
        return 1
    fi
    ln -sf /usr/local/lib/kexecd-vm/kexec /usr/sbin/kexec
    wait_prop Loaded true 10 || info "10: after the reload: $(summary)"
    info "10: UseKexec=yes, /usr/sbin/kexec present; $(summary); now a plain reboot"
    reboot_into usekexec 10 reboot
}

# 10 and 11, second half (boot 6).
assert_10_11() {
    local c why=() loader staged uki_cmdline
    c=$(proc_cmdline) loader=$(loader_type)
    staged=$(state_get STAGED11_CMDLINE) uki_cmdline=$(state_get UKI_CMDLINE)
    [[ $(uname -r) == "$NEW_KVER" ]] || why+=("running $(uname -r), not the staged $NEW_KVER")
    [[ $loader == d0 ]] || why+=("type_of_loader 0x$loader, not 0xd0 (kexec): the reboot went through the firmware")
    [[ $(boot_id) != "$(state_get BOOT_ID_BEFORE)" ]] || why+=("same boot id")
    timing phase10 "$(phase_time P10_T0)"
    if ((${#why[@]})); then
        fail_each 10
        fail 11 "not checked: the plain reboot did not kexec (10)"
        return
    fi
    pass 10 "[Reboot] UseKexec=yes: a plain 'reboot' kexec'd $NEW_KVER (type_of_loader 0x$loader, new boot id)"
    why=()
    [[ $staged == "$uki_cmdline" ]] || why+=("StagedCmdline was '$staged', not the UKI's .cmdline '$uki_cmdline'")
    [[ $c == "$uki_cmdline" ]] || why+=("/proc/cmdline '$c' is not the UKI's .cmdline '$uki_cmdline'")
    has_word "$c" "$ONESHOT_PARAM" && why+=("/proc/cmdline has $ONESHOT_PARAM")
    if ((${#why[@]})); then
        fail_each 11
    else
        pass 11 "a UKI built from $NEW_KVER (objcopy onto systemd-stub) appeared in /boot/EFI/Linux: staged from it," \
            "and the kexec'd kernel's /proc/cmdline is its .cmdline '$c'"
    fi
}

# 12, first half (boot 6): a kernel without kexec_file_load, as Debian's
# arm64 kernels are (issue 7). A drop-in makes the call fail with ENOSYS in
# kexecd.service (its seccomp filter; the kernel still has it), so kexecd
# falls back to `kexec -l`, which it must run in a transient unit
# (kexecd-load-*.service, systemd-run) while its own unit keeps CAP_SYS_BOOT
# alone. The UKI of 11 is still the newest: its sections reach kexec-tools as
# copies in /run/kexecd/load. Then systemctl kexec.
prepare_12() {
    local dropin=/etc/systemd/system/kexecd.service.d/50-vm-test-no-kexec-file-load.conf out line caps
    state_set P12_T0 "$(now)"
    ln -sf /usr/local/lib/kexecd-vm/kexec /usr/sbin/kexec
    mkdir -p "${dropin%/*}"
    printf '[Service]\nSystemCallFilter=~kexec_file_load\nSystemCallErrorNumber=ENOSYS\n' >"$dropin"
    busctl call "${BUS[@]}" Unstage b false >/dev/null || info "12: Unstage failed: $(summary)"
    systemctl daemon-reload
    out=$(systemctl restart kexecd.service 2>&1) || info "12: systemctl restart kexecd: $out"
    if ! wait_prop StagedKernel "$UKI" 120 || ! wait_prop Loaded true 10; then
        fail 12 "not staged through the fallback within 120 s: $(summary) StagedKernel='$(prop StagedKernel)'; kexecd: $(journalctl -b -u kexecd.service -o cat --no-pager | tail -8 | tr '\n' '|')"
        return 1
    fi
    if ! line=$(journal_line 0 "running kexec -l in the transient unit kexecd-load-" 10 -u kexecd.service); then
        fail 12 "staged, but not through the transient unit: $(journalctl -b -u kexecd.service -o cat --no-pager | tail -8 | tr '\n' '|')"
        return 1
    fi
    caps=$(systemctl show -P CapabilityBoundingSet kexecd.service)
    if [[ $caps != cap_sys_boot ]]; then
        fail 12 "kexecd.service's CapabilityBoundingSet is '$caps', not cap_sys_boot alone"
        return 1
    fi
    if [[ -n $(ls -A /run/kexecd/load 2>/dev/null) ]]; then
        fail 12 "the copies are still in /run/kexecd/load: $(ls -A /run/kexecd/load | tr '\n' ' ')"
        return 1
    fi
    info "12: kexecd logged '$line'; kexecd.service CapabilityBoundingSet=$caps; kexec_loaded $(cat /sys/kernel/kexec_loaded)"
    state_set P12_JOURNAL "$line"
    state_set STAGED12_CMDLINE "$(prop StagedCmdline)"
    reboot_into helper-kexec 12 systemctl kexec
}

# 12, second half (boot 7).
assert_12() {
    local c why=() loader staged
    c=$(proc_cmdline) loader=$(loader_type) staged=$(state_get STAGED12_CMDLINE)
    [[ $(uname -r) == "$NEW_KVER" ]] || why+=("running $(uname -r), not the staged $NEW_KVER")
    [[ $loader != b0 ]] || why+=("type_of_loader 0xb0: qemu's loader, a boot through the firmware")
    [[ $(boot_id) != "$(state_get BOOT_ID_BEFORE)" ]] || why+=("same boot id")
    [[ $c == "$staged" && $c == "$(state_get UKI_CMDLINE)" ]] || why+=("/proc/cmdline '$c' is not the UKI's staged '$staged'")
    timing phase12 "$(phase_time P12_T0)"
    if ((${#why[@]})); then
        fail_each 12
    else
        pass 12 "kexec_file_load blocked in kexecd.service: '$(state_get P12_JOURNAL)'; the daemon kept" \
            "CAP_SYS_BOOT alone; systemctl kexec booted the UKI's $NEW_KVER with '$c' (type_of_loader 0x$loader)"
    fi
}

# --- phases ------------------------------------------------------------------------
case ${phase:-start} in
start)
    timing boot1-userspace "$(awk '{print $1}' /proc/uptime)"
    [[ $(uname -r) == "$BOOT_KVER" ]] || info "boot 1 runs $(uname -r), expected $BOOT_KVER"
    # kexecd-vm-grub.service: update-grub, before kexecd started.
    timing update-grub-boot1 "$(systemctl show -P InactiveExitTimestampMonotonic -P ActiveEnterTimestampMonotonic kexecd-vm-grub.service |
        xargs | awk '{ printf "%.2f", ($2 - $1) / 1e6 }')"
    if assert_1; then
        assert_6_boot1
        kexec_now
    else
        fail 2 "not attempted: nothing staged"
    fi
    # Only reached when there was no kexec: run the rest on this boot.
    state_set PHASE boot1-rest
    assert_3
    assert_4
    assert_5
    not_attempted 6 7 8 9 10 11 12
    finish
    ;;
kexec)
    state_set PHASE boot2
    timing boot2-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_2
    assert_6_boot2
    assert_3
    assert_4
    assert_5
    figures
    prepare_7
    not_attempted 8 9 10 11 12
    finish
    ;;
grub-kexec)
    state_set PHASE boot3
    timing boot3-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_7
    prepare_8
    not_attempted 9 10 11 12
    finish
    ;;
stepaside-kexec)
    state_set PHASE boot4
    timing boot4-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_8
    prepare_9
    not_attempted 10 11 12
    finish
    ;;
stepaside-reboot)
    state_set PHASE boot5
    timing boot5-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_9
    prepare_10
    not_attempted 12
    finish
    ;;
usekexec)
    state_set PHASE boot6
    timing boot6-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_10_11
    prepare_12
    finish
    ;;
helper-kexec)
    state_set PHASE boot7
    timing boot7-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_12
    finish
    ;;
polkit)
    state_set PHASE rebooted-in-polkit
    fail 3 "the machine rebooted while uid 1000 was calling Reboot/Unstage: not refused"
    finish
    ;;
*)
    fail 0 "unexpected reboot in phase '$phase'"
    finish
    ;;
esac
