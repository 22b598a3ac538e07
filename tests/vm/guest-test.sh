#!/bin/bash
# The guest half of the kexecd VM test. kexecd-vm-test.service (baked into the
# image by build-image) runs it at every boot from the payload disk, mounted
# at /mnt/payload. The phase survives the kexec in /mnt/payload/state.
#
# Results go to the serial console and to /mnt/payload/results, one line each:
#   KEXECD-VM: PASS N text | FAIL N text | INFO text | TIME key seconds | DONE
# run-vm-test (on the host) reads them.
set -u
export LC_ALL=C.UTF-8 SYSTEMD_PAGER= PAGER=cat DEBIAN_FRONTEND=noninteractive

P=/mnt/payload
STATE=$P/state
RESULTS=$P/results
# BOOT_KVER NEW_KVER EXTRA_KVER EXTRA_PKG KEXECD_DEB_VERSION
. "$P/kernels.env"
EXTRA_DEB=$P/extra.deb
TESTER=tester
BUS=(org.kexecd1 /org/kexecd1 org.kexecd1.Manager)

# --- output ----------------------------------------------------------------
say() {
    local line="KEXECD-VM: $*"
    echo "$line"
    echo "$line" >/dev/ttyS0
    echo "$line" >>"$RESULTS"
    sync "$RESULTS"
}
info() { say "INFO $*"; }
pass() { say "PASS $1 ${*:2}"; }
fail() { say "FAIL $1 ${*:2}"; }
timing() { say "TIME $1 $2"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

state_get() { sed -n "s/^$1=//p" "$STATE" 2>/dev/null | tail -1; }
state_set() { echo "$1=$2" >>"$STATE"; sync "$STATE"; }

# --- D-Bus helpers -----------------------------------------------------------
# A property's value without its type: s "x" -> x, b true -> true, as 2 "a" "b" -> 2 "a" "b".
prop() { busctl get-property "${BUS[@]}" "$1" 2>/dev/null | sed -E 's/^[a-z]+ //; s/^"(.*)"$/\1/'; }
# Poll until "prop NAME" equals WANT or the deadline (seconds) passes.
wait_prop() {
    local name=$1 want=$2 deadline=$(($(date +%s) + $3))
    while :; do
        [[ $(prop "$name") == "$want" ]] && return 0
        (($(date +%s) >= deadline)) && return 1
        sleep 0.2
    done
}
summary() {
    echo "StagedVersion='$(prop StagedVersion)' Loaded=$(prop Loaded) Origin='$(prop StagedOrigin)'" \
        "kexec_loaded=$(cat /sys/kernel/kexec_loaded)"
}
# Calls a method as the unprivileged test user with dbus-send, which prints
# the D-Bus error name ("Error org.freedesktop.DBus.Error.AccessDenied: ...").
as_tester() { runuser -u "$TESTER" -- "$@"; }
user_call() {
    as_tester dbus-send --system --print-reply --reply-timeout=30000 --dest=org.kexecd1 \
        /org/kexecd1 "org.kexecd1.Manager.$1" "${@:2}" 2>&1
}
# x86 boot protocol: hdr.type_of_loader at 0x210 of boot_params. QEMU's own
# -kernel loader writes 0xb0, the kernel's kexec_file_load 0xd0 (0x0d << 4):
# proof from inside the guest of who started this kernel.
loader_type() { od -An -tx1 -j $((0x210)) -N1 /sys/kernel/boot_params/data 2>/dev/null | tr -d ' '; }

# Runs a command, its output (stamped with the uptime) also to $P/NAME.log.
logged() {
    local name=$1 rc
    shift
    "$@" 2>&1 | while IFS= read -r l; do echo "$(cut -d' ' -f1 /proc/uptime) $l"; done | tee "$P/$name.log"
    rc=${PIPESTATUS[0]}
    sync
    return "$rc"
}
dump_journal() {
    # After the kexec, boot 1's journal holds its shutdown too (persistent journal).
    [[ $1 == boot2 ]] && journalctl -b -1 -o short-monotonic --no-pager >"$P/journal-boot1.txt" 2>&1
    journalctl -b -o short-monotonic --no-pager >"$P/journal-$1.txt" 2>&1
    journalctl -b -u kexecd -o short-monotonic --no-pager >"$P/kexecd-$1.txt" 2>&1
    sync
}
finish() {
    dump_journal "boot$1"
    say "DONE"
    sync
    systemctl poweroff --no-block
    exit 0
}

# --- assertions -----------------------------------------------------------------

# 1. The daemon, started by systemd at boot or by D-Bus activation, staged the
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
    dump_journal boot1
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
    # The same command line, less BOOT_IMAGE= (a boot loader's addition).
    c1=$(tr ' ' '\n' <"$P/cmdline-boot1" | grep -v -e '^BOOT_IMAGE=' -e '^$' | xargs)
    c2=$(tr ' ' '\n' </proc/cmdline | grep -v -e '^$' | xargs)
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
            "cmdline '$c2' = boot 1's less BOOT_IMAGE=, boot id $(state_get BOOT1_ID) -> $(cat /proc/sys/kernel/random/boot_id)"
    else
        local w
        for w in "${why[@]}"; do fail 2 "$w"; done
    fi
}

# 3. polkit (the real polkitd) refuses the unprivileged user every change and
#    lets it read.
assert_3() {
    local ok=1 out before_v before_l m args
    before_v=$(prop StagedVersion) before_l=$(prop Loaded)
    id "$TESTER" >/dev/null 2>&1 || { fail 3 "no user $TESTER"; return; }
    state_set PHASE polkit  # a reboot from here on is a failure
    for m in "StageNewest boolean:false" "Stage string: string: boolean:false" \
        "Stage string:$BOOT_KVER string: boolean:false" "Unstage boolean:false" \
        "Reboot boolean:false" "Rescan boolean:false" "Unstage boolean:true" "Reboot boolean:true"; do
        read -ra args <<<"$m"
        out=$(user_call "${args[@]}")
        if grep -qE 'Error org\.freedesktop\.DBus\.Error\.(AccessDenied|InteractiveAuthorizationRequired)' <<<"$out"; then
            info "uid 1000 $m -> $(head -1 <<<"$out")"
        else
            ok=0
            fail 3 "uid 1000 $m was not refused: $(tr '\n' ' ' <<<"$out")"
        fi
    done
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

# --- phases ------------------------------------------------------------------------
phase=$(state_get PHASE)
info "boot: phase '${phase:-start}', kernel $(uname -r), uptime $(awk '{print $1}' /proc/uptime) s," \
    "boot id $(cat /proc/sys/kernel/random/boot_id), kexecd $KEXECD_DEB_VERSION"
case ${phase:-start} in
start)
    timing boot1-userspace "$(awk '{print $1}' /proc/uptime)"
    [[ $(uname -r) == "$BOOT_KVER" ]] || info "boot 1 runs $(uname -r), expected $BOOT_KVER"
    if assert_1; then
        kexec_now
    else
        fail 2 "not attempted: nothing staged"
    fi
    # Only reached when there was no kexec: run the rest on this boot.
    state_set PHASE boot1-rest
    assert_3
    assert_4
    assert_5
    finish 1
    ;;
kexec)
    state_set PHASE boot2
    timing boot2-userspace "$(awk '{print $1}' /proc/uptime)"
    assert_2
    assert_3
    assert_4
    assert_5
    finish 2
    ;;
polkit)
    state_set PHASE rebooted-in-polkit
    fail 3 "the machine rebooted while uid 1000 was calling Reboot/Unstage: not refused"
    finish 3
    ;;
*)
    fail 0 "unexpected reboot in phase '$phase'"
    finish 9
    ;;
esac
