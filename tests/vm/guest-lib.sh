#!/bin/bash
# What the guest halves of the kexecd VM tests share (guest-test.sh for the
# BIOS guest, guest-secureboot.sh for the Secure Boot one, guest-arm64.sh): results on the
# console and the payload disk, the phase kept across boots, command lines,
# kexecd's properties, journals, reboots. Sourced from /mnt/payload.
set -u
export LC_ALL=C.UTF-8 SYSTEMD_PAGER= PAGER=cat DEBIAN_FRONTEND=noninteractive

P=/mnt/payload
STATE=$P/state
RESULTS=$P/results
# BOOT_KVER NEW_KVER EXTRA_KVER EXTRA_PKG KEXECD_DEB_VERSION GRUB_CMDLINE_LINUX
. "$P/kernels.env"
TESTER=tester
BUS=(org.kexecd1 /org/kexecd1 org.kexecd1.Manager)
# The serial console the host follows: the PC's first UART, the PL011 of
# qemu's arm64 "virt" machine.
CONSOLE=/dev/ttyS0
[[ $(uname -m) == aarch64 ]] && CONSOLE=/dev/ttyAMA0

# --- output ----------------------------------------------------------------
say() {
    local line="KEXECD-VM: $*"
    echo "$line"
    echo "$line" >"$CONSOLE"
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
# This boot's number (1 = qemu's first), for the journal files.
BOOTNO=$(state_get BOOTNO)
BOOTNO=$((${BOOTNO:-0} + 1))
state_set BOOTNO "$BOOTNO"

# --- command lines -----------------------------------------------------------
# One space between words, none at the ends.
norm() { tr -s ' \t\n' '   ' | sed -e 's/^ //' -e 's/ $//'; }
has_word() { [[ " $1 " == *" $2 "* ]]; }
# $1 less the words $2... and every BOOT_IMAGE=.
without() {
    local w out=() skip
    for w in $1; do
        [[ $w == BOOT_IMAGE=* ]] && continue
        for skip in "${@:2}"; do [[ $w == "$skip" ]] && continue 2; done
        out+=("$w")
    done
    echo "${out[*]}"
}
proc_cmdline() { norm </proc/cmdline; }
boot_id() { cat /proc/sys/kernel/random/boot_id; }
# The arguments of grub.cfg's normal (not recovery) entry for kernel $1: what
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
# Calls each method ($2..., dbus-send arguments in one string) as the
# unprivileged user: FAIL $1 for each one polkit did not refuse; returns 1
# if any.
refused() {
    local n=$1 m out args rc=0
    shift
    for m in "$@"; do
        read -ra args <<<"$m"
        out=$(user_call "${args[@]}")
        if grep -qE 'Error org\.freedesktop\.DBus\.Error\.(AccessDenied|InteractiveAuthorizationRequired)' <<<"$out"; then
            info "uid 1000 $m -> $(head -1 <<<"$out")"
        else
            rc=1
            fail "$n" "uid 1000 $m was not refused: $(tr '\n' ' ' <<<"$out")"
        fi
    done
    return "$rc"
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
# This boot's journal so far; at the start of the next boot the previous
# one's again, with its shutdown (persistent journal).
dump_journal() {
    journalctl -b -o short-monotonic --no-pager >"$P/journal-boot$BOOTNO.txt" 2>&1
    journalctl -b -u kexecd -u kexecd-verify -o short-monotonic --no-pager >"$P/kexecd-boot$BOOTNO.txt" 2>&1
    sync
}
dump_previous_journal() {
    local n=$((BOOTNO - 1))
    ((n >= 1)) || return 0
    journalctl -b -1 -o short-monotonic --no-pager >"$P/journal-boot$n.txt" 2>&1
    journalctl -b -1 -u kexecd -u kexecd-verify -o short-monotonic --no-pager >"$P/kexecd-boot$n.txt" 2>&1
    sync
}
finish() {
    dump_journal
    say "DONE"
    sync
    systemctl poweroff --no-block
    exit 0
}

# --- assertions -----------------------------------------------------------------

# 1. The daemon, started by systemd at boot or by D-Bus activation, staged the
not_attempted() {
    local n
    for n in "$@"; do fail "$n" "not attempted: an earlier step failed (above)"; done
}
# FAIL N once for each reason in why[] (the caller's).
fail_each() {
    local w
    for w in "${why[@]}"; do fail "$1" "$w"; done
}
# The end of assertion N: FAIL N for each reason in why[] (the caller's),
# or PASS N with the text given.
conclude() {
    local n=$1
    shift
    if ((${#why[@]})); then
        fail_each "$n"
        return 1
    fi
    pass "$n" "$@"
}

# Builds a UKI of kernel $2 (its /boot files) with .cmdline $3 at $1, as
# systemd-stub(7) shows: objcopy onto systemd-boot-efi's stub. It appears
# whole (a rename), as kernel-install's copy does. On failure prints why.
build_uki() {
    local out=$1 kver=$2 d ksize initrd_vma rc=0
    d=$(mktemp -d)
    printf '%s' "$3" >"$d/cmdline"
    printf '%s' "$kver" >"$d/uname"
    # .initrd after .linux, on the next 16 MiB boundary: the stub maps the
    # sections at these addresses.
    ksize=$(stat -c %s "/boot/vmlinuz-$kver")
    initrd_vma=$(printf '0x%x' $(((0x2000000 + ksize + 0xffffff) & ~0xffffff)))
    objcopy \
        --add-section .osrel=/etc/os-release --change-section-vma .osrel=0x20000 \
        --add-section .cmdline="$d/cmdline" --change-section-vma .cmdline=0x30000 \
        --add-section .uname="$d/uname" --change-section-vma .uname=0x40000 \
        --add-section .linux="/boot/vmlinuz-$kver" --change-section-vma .linux=0x2000000 \
        --add-section .initrd="/boot/initrd.img-$kver" --change-section-vma .initrd="$initrd_vma" \
        /usr/lib/systemd/boot/efi/linuxx64.efi.stub "$d/uki.efi" 2>&1 || rc=1
    if ((rc == 0)); then
        mkdir -p "${out%/*}" && cp "$d/uki.efi" "$out.tmp" && mv "$out.tmp" "$out" || rc=1
    fi
    rm -rf "$d"
    sync
    return "$rc"
}

# What a boot that came by kexec into kernel $1 must show, after a boot
# whose /proc/cmdline is saved in file $2: that kernel, a new boot id, and
# the same command line less BOOT_IMAGE=. Appends to why[] (the caller's);
# sets $cmdline_now.
check_kexec_boot() {
    local before
    [[ $(uname -r) == "$1" ]] || why+=("running $(uname -r), not $1")
    [[ $(boot_id) != "$(state_get BOOT_ID_BEFORE)" ]] || why+=("same boot id")
    before=$(without "$(norm <"$2")") cmdline_now=$(proc_cmdline)
    [[ $before == "$cmdline_now" ]] ||
        why+=("/proc/cmdline '$cmdline_now', expected $2's less BOOT_IMAGE=: '$before'")
}

# Runs CMD to reboot into phase NEXT; only returns (after a FAIL N) when the
# machine did not go down.
reboot_into() {
    local next=$1 n=$2 out rc
    shift 2
    state_set BOOT_ID_BEFORE "$(boot_id)"
    state_set PHASE "$next"
    dump_journal
    info "boot $BOOTNO done; $* now"
    state_set REBOOT_CMD "'$*' (its exit status not recorded: the shutdown came first)"
    out=$("$@" 2>&1)
    rc=$?
    # Said by the next boot: once the shutdown has begun, this may not get out.
    state_set REBOOT_CMD "'$*' exited $rc${out:+: $(tr '\n' ' ' <<<"$out")}"
    # Even after a failure the machine may be going down (a client that
    # lost its daemon to the shutdown): wait a little before saying so.
    if ((rc == 0)); then sleep 180; else sleep 60; fi
    state_set PHASE "$next-not-rebooted"
    fail "$n" "'$*' exited $rc${out:+ ($(tr '\n' ' ' <<<"$out"))}, and the system is still up $( ((rc == 0)) && echo 180 || echo 60) s later"
    return 1
}
# Seconds since the wall-clock time kept in state key $1 (the guest's clock
# comes from qemu's RTC at every boot, kexec or not: good to a second).
phase_time() { elapsed "$(state_get "$1")" "$(now)"; }
# The last journal line of boot $1 (0 this one, -1 the previous) with text
# $2, waiting up to $3 seconds for it; extra arguments go to journalctl.
journal_line() {
    local b=$1 text=$2 deadline=$(($(date +%s) + $3)) line
    shift 3
    while :; do
        line=$(journalctl -b "$b" -o cat --no-pager "$@" 2>/dev/null | grep -F -- "$text" | tail -1)
        [[ -n $line ]] && { echo "$line"; return 0; }
        (($(date +%s) >= deadline)) && return 1
        sleep 0.5
    done
}

# --- start of every boot ------------------------------------------------------
phase=$(state_get PHASE)
info "boot: phase '${phase:-start}', kernel $(uname -r), uptime $(awk '{print $1}' /proc/uptime) s," \
    "boot id $(cat /proc/sys/kernel/random/boot_id), type_of_loader 0x$(loader_type), boot $BOOTNO, kexecd $KEXECD_DEB_VERSION"
dump_previous_journal
[[ -z $(state_get REBOOT_CMD) ]] || info "boot $((BOOTNO - 1)) ended with $(state_get REBOOT_CMD)"
# Not an assertion of its own: how kexecd.service ended at the last shutdown
# (SIGKILL is assertion 5's own doing).
if ((BOOTNO > 1)); then
    stop_line=$(journalctl -b -1 -u kexecd.service -o cat --no-pager 2>/dev/null |
        grep -E "terminate called|code=(killed|dumped)|lost the connection|Failed with result 'exit-code'" |
        grep -v 'status=9/KILL' | paste -sd '|')
    [[ -z $stop_line ]] || info "kexecd.service did not stop cleanly at boot $((BOOTNO - 1))'s shutdown: $stop_line"
fi
