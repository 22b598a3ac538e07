#!/usr/bin/env bash
# What the host side of the kexecd VM tests shares (run-vm-test: the x86
# BIOS and Secure Boot guests; run-vm-arm64: the arm64 guest): messages and
# exits (77 is meson's SKIP), the work directory and its cleanup, build
# jobs, qemu, the .deb, the cached guest image, the payload disk, following
# a guest's console and the verdict on its assertions. Sourced; the caller
# sets t_start, here and srcroot first.

log() { printf '[vm %6.1fs] %s\n' "$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*"; }
banner() {
    local line
    line=$(printf '#%.0s' {1..78})
    printf '%s\n# %s\n%s\n' "$line" "$*" "$line"
}
# Loud on both streams (once when they are the same file).
shout() {
    banner "$@"
    [[ /dev/stderr -ef /dev/stdout ]] || banner "$@" >&2
}
skip() {
    shout "kexecd VM TEST DID NOT RUN: $*"
    exit 77
}
die() {
    shout "kexecd VM TEST FAILED: $*"
    exit 1
}
since() { awk -v a="$1" -v b="${2:-$(date +%s.%N)}" 'BEGIN { printf "%.1f", b - a }'; }

# --- work directory and cleanup ------------------------------------------------------
qemu_pids=()
job_pids=()
cleanup() {
    local pid
    # Package and image builds run in process groups of their own: stop the
    # whole group and give mmdebstrap time to unmount and clean up.
    for pid in "${job_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            log "stopping build job (process group $pid)"
            kill -TERM -- "-$pid" 2>/dev/null
            for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL -- "-$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    [[ -n ${img:-} ]] && rm -rf --one-file-system "$img.tmp" 2>/dev/null
    for pid in "${qemu_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            log "stopping qemu (pid $pid)"
            kill -TERM "$pid" 2>/dev/null
            for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    qemu_pids=()
    if [[ ${KEXECD_VM_KEEP:-0} == 1 ]]; then
        log "kept $work"
    else
        rm -rf "$work"
    fi
}
# The work directory $work, removed at exit (kept with KEXECD_VM_KEEP=1),
# with every build job and qemu stopped.
start_work() {
    work=$(mktemp -d "${TMPDIR:-/var/tmp}/kexecd-vm.XXXXXX") || die "mktemp failed"
    trap cleanup EXIT
    trap 'log "interrupted"; exit 130' INT
    trap 'log "terminated"; exit 143' TERM
}

# Runs a build step in a process group of its own, output to LOG; waits in
# a way that lets INT/TERM through to cleanup.
run_job() {
    local logf=$1 pid rc
    shift
    setsid "$@" >"$logf" 2>&1 </dev/null &
    pid=$!
    job_pids+=("$pid")
    wait "$pid"
    rc=$?
    job_pids=()
    return "$rc"
}
# Starts qemu in the background: sets $qemu_pid and records it for cleanup.
# The kernel kills it too should this script die without cleaning up.
start_qemu() {
    setpriv --pdeathsig KILL -- "${qemu_bin:-qemu-system-x86_64}" "$@" </dev/null &
    qemu_pid=$!
    qemu_pids+=("$qemu_pid")
}
# Waits for $qemu_pid to exit within $1 seconds; sets $qemu_rc (124: timed out, killed).
wait_qemu() {
    local deadline=$(($(date +%s) + $1))
    while kill -0 "$qemu_pid" 2>/dev/null; do
        if (($(date +%s) >= deadline)); then
            kill -KILL "$qemu_pid" 2>/dev/null
            wait "$qemu_pid" 2>/dev/null
            qemu_rc=124
            return
        fi
        [[ -n ${on_tick:-} ]] && $on_tick
        sleep 0.5
    done
    wait "$qemu_pid" 2>/dev/null
    qemu_rc=$?
}

# --- the project's .deb ------------------------------------------------------------------
# Sets $deb to the kexecd .deb for architecture $1 ("" the host's; arm64 a
# cross build), built by packaging/build-deb.sh unless $2 names one, and
# $t_deb to the seconds it took.
get_deb() {
    local arch=$1 given=$2 dir t0
    t0=$(date +%s.%N)
    if [[ -n $given ]]; then
        deb=$(realpath "$given") || die "the .deb $given does not exist"
        log "using the .deb $deb"
    else
        [[ -f $srcroot/packaging/build-deb.sh ]] || die "packaging/build-deb.sh is missing: cannot build the .deb to test"
        dir=$work/deb${arch:+-$arch}
        log "building the .deb: bash packaging/build-deb.sh ${dir##*/} $arch"
        mkdir -p "$dir"
        # The unit tests run in their own meson test; the VM test needs only the package.
        run_job "$work/build-deb$arch.log" env -C "$srcroot" DEB_BUILD_OPTIONS="${KEXECD_VM_DEB_BUILD_OPTIONS-nocheck}" \
            bash packaging/build-deb.sh "$dir" $arch || {
            tail -40 "$work/build-deb$arch.log"
            die "packaging/build-deb.sh $arch failed (log above)"
        }
        deb=$(find "$dir" -maxdepth 2 -name "kexecd_*_${arch:-$(dpkg --print-architecture)}.deb" | sort | tail -1)
        [[ -n $deb ]] || die "packaging/build-deb.sh left no kexecd .deb in $dir: $(ls "$dir")"
    fi
    t_deb=$(since "$t0")
    log "kexecd package: $(basename "$deb") (${t_deb} s)"
}

# --- the guest image, cached --------------------------------------------------------------
# Debian's archive for a guest, as a deb822 .sources file on stdout:
# bookworm, bookworm-updates and bookworm-security (the 6.12 kernels).
default_sources() {
    cat <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
}
# KEXECD_VM_SOURCES, else the host's own deb822 list when it names bookworm
# and bookworm-security (it may point at a local mirror), else none (the
# image builders then use default_sources).
host_sources() {
    local f=/etc/apt/sources.list.d/debian.sources
    sources=${KEXECD_VM_SOURCES:-}
    if [[ -z $sources && -f $f ]] && grep -q 'bookworm-security' "$f" && grep -qE '^Suites:.*\bbookworm\b' "$f"; then
        sources=$f
    fi
}
# Sets $img to a guest image in the cache, built by builder $2 (OUTDIR DEB
# [SOURCES]) when no image of the same inputs is there: its name is $1-
# and a hash of the builder, the files $3..., the .deb $deb, the sources and
# $image_extra_key. Sets $image_how (built or cached) and $t_image. The two
# most recently used images of prefix $1 are kept.
get_image() {
    local prefix=$1 builder=$2 key t0 old
    shift 2
    host_sources
    cache=${KEXECD_VM_CACHE:-/var/cache/kexecd-vm}
    mkdir -p "$cache" || die "cannot create the cache directory $cache"
    key=$({
        sha256sum "$builder" "$@" "$deb" | awk '{print $1}'
        [[ -n $sources ]] && sha256sum <"$sources"
        echo "${image_extra_key:-}"
    } | sha256sum | cut -c1-16)
    img=$cache/$prefix-$key
    t0=$(date +%s.%N)
    image_how=cached
    # .lock serialises builds; $img/inuse is held shared by every run using that
    # image, so that no run deletes (prunes, rebuilds) an image another one boots.
    exec 9>"$cache/.lock"
    flock 9
    if [[ ${KEXECD_VM_REBUILD:-0} == 1 && -d $img ]]; then
        { flock -n -x 7 && rm -rf "$img"; } 7>"$img/inuse" || die "KEXECD_VM_REBUILD=1, but another run is using $img"
    fi
    if [[ ! -f $img/complete ]]; then
        image_how=built
        log "building the guest image $img (mmdebstrap from ${sources:-deb.debian.org})"
        rm -rf "$img" "$img.tmp"
        if ! run_job "$work/build-$prefix.log" bash "$builder" "$img.tmp" "$deb" ${sources:+"$sources"}; then
            tail -40 "$work/build-$prefix.log"
            rm -rf --one-file-system "$img.tmp"
            die "building the guest image failed (log above)"
        fi
        touch "$img.tmp/complete"
        mv "$img.tmp" "$img"
    fi
    touch "$img" "$img/complete" # the directory's age is its last use
    exec 8>"$img/inuse"
    flock -s 8
    # Keep the two most recently used images, less any another run is using.
    for old in $(ls -1dt "$cache/$prefix"-* 2>/dev/null | grep -v '\.tmp$' | tail -n +3); do
        { flock -n -x 7 && rm -rf "$old"; } 7>"$old/inuse" 2>/dev/null
    done
    flock -u 9
    exec 9>&-
    t_image=$(since "$t0")
}

# --- in an image builder's customize hook -----------------------------------
# What every guest root needs, under root $1 with serial console $2 (ttyS0,
# ttyAMA0): host name, the root disk in fstab, the unprivileged user
# "tester", a persistent journal (boot 2 sees boot 1), nothing that holds the
# dpkg lock or writes the console while the test runs, and the test driver.
# in_root (the builder's) runs a command in the root.
guest_setup() {
    local root=$1 console=$2 u
    echo kexecd-vm >"$root/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 kexecd-vm\n' >"$root/etc/hosts"
    echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
    in_root useradd --create-home --uid 1000 --user-group --shell /bin/bash tester
    mkdir -p "$root/mnt/payload" "$root/var/log/journal"
    for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
        "serial-getty@$console.service" getty@tty1.service; do
        ln -sf /dev/null "$root/etc/systemd/system/$u"
    done
    # The test driver: runs the test script from the payload disk (/dev/vdb)
    # at every boot; the script keeps its phase in a state file there.
    cat >"$root/etc/systemd/system/kexecd-vm-test.service" <<'UNIT'
[Unit]
Description=kexecd VM test driver (tests/vm, script on /dev/vdb)
Wants=dev-vdb.device
After=dev-vdb.device multi-user.target

[Service]
Type=simple
ExecStart=/bin/sh -c 'mountpoint -q /mnt/payload || mount /dev/vdb /mnt/payload; exec /bin/bash /mnt/payload/guest-test.sh'
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
UNIT
    ln -sf /etc/systemd/system/kexecd-vm-test.service \
        "$root/etc/systemd/system/multi-user.target.wants/kexecd-vm-test.service"
}

# --- the guests ----------------------------------------------------------------------------
# The payload disk $1.img of a guest: its test script $2 (run at every boot
# as guest-test.sh), guest-lib.sh, the kernel versions and the third kernel
# when the image has one.
make_payload() {
    local dir=$1 mb
    mkdir -p "$dir"
    cp "$2" "$dir/guest-test.sh"
    cp "$here/guest-lib.sh" "$img/kernels.env" "$dir/"
    [[ ! -f $img/extra.deb ]] || cp "$img/extra.deb" "$dir/"
    echo "ONESHOT_PARAM=$oneshot_param" >"$dir/vm.env"
    mb=$(($(du -sm "$dir" | cut -f1) + 64))
    : >"$dir.img"
    mkfs.ext4 -q -F -L payload -d "$dir" "$dir.img" "${mb}M" || die "mkfs.ext4 of the payload disk failed"
}

# Follows a guest's console ($serial): echoes marker lines (all lines when
# verbose) with host time, and at each kernel's banner notes how many
# firmware starts there were (lines matching $fw_mark in $fw_log), so each
# boot is known to have come by kexec (no new start) or through the firmware.
fw_count() { grep -ac -- "$fw_mark" "$fw_log" 2>/dev/null || true; }
follow() {
    [[ -f $serial ]] || return
    local line n=0
    while IFS= read -r line; do
        n=$((n + 1))
        ((n <= seen)) && continue
        seen=$n
        line=${line//$'\r'/}
        if [[ $line == *KEXECD-VM:* ]]; then
            line="KEXECD-VM:${line#*KEXECD-VM:}"
            log "guest: ${line#KEXECD-VM: }"
            case $line in
            *"boot 1 done; systemctl kexec now"*) marker_time[kexec]=$(date +%s.%N) ;;
            *"phase 'kexec'"*) marker_time[boot2]=$(date +%s.%N) ;;
            esac
        else
            if [[ $line == *"Linux version $NEW_KVER "* && -n ${marker_time[kexec]:-} && -z ${marker_time[kernel2]:-} ]]; then
                marker_time[kernel2]=$(date +%s.%N)
            fi
            if [[ $line =~ (^|[] ])Linux\ version\ ([^ ]+)\ \( ]]; then
                nboots=$((nboots + 1))
                boot_ran[nboots]=${BASH_REMATCH[2]}
                boot_fw[nboots]=$(fw_count)
                log "boot $nboots: ${BASH_REMATCH[2]}, firmware starts so far: ${boot_fw[nboots]}"
            fi
            if [[ ${KEXECD_VM_VERBOSE:-0} == 1 ]]; then
                printf '  | %s\n' "$line"
            elif [[ $line == *"Linux version "* ]]; then
                log "console: ${line:0:110}"
            fi
        fi
    done <"$serial"
}
follow_and_guard() {
    follow
    local n
    n=$(fw_count)
    if ((${n:-0} > max_fw)); then
        log "$n firmware starts (at most $max_fw expected): a reboot loop; stopping qemu"
        kill -KILL "$qemu_pid" 2>/dev/null
    fi
}
# Boots a guest: qemu with the arguments given (its console goes to
# $serial), until it powers off or $timeout_s pass. Sets $t_guest.
run_guest() {
    seen=0 nboots=0 boot_ran=() boot_fw=() marker_time=()
    local t_boot
    t_boot=$(date +%s.%N)
    start_qemu "$@" -serial "file:$serial" 2>"$serial.qemu-err"
    log "qemu pid $qemu_pid (timeout ${timeout_s} s)"
    on_tick=follow_and_guard wait_qemu "$timeout_s"
    follow
    t_guest=$(since "$t_boot")
    case $qemu_rc in
    0) log "qemu exited after ${t_guest} s" ;;
    124) log "the guest did not finish in ${timeout_s} s: qemu killed" ;;
    *) log "qemu exited with status $qemu_rc after ${t_guest} s: $(tr '\n' ' ' <"$serial.qemu-err" | cut -c1-300)" ;;
    esac
}

# The verdict on a guest's assertions $all_n (titles in $names), from its
# record on the payload disk $1 (authoritative; the console is the
# fallback, where a line can be cut by kernel messages), into $2/results.
# The host's half, for the assertions in $boot_of: the boot each one checks
# ran the expected kernel ($expect_kver) after the expected number of
# firmware starts ($expect_fw): none more for a kexec, one more for each
# reboot through the firmware. Sets verdict[], reason[], other_failure.
judge() {
    local payload=$1 dir=$2 n b how f
    debugfs -R "cat /results" "$payload" >"$dir/results" 2>/dev/null
    if [[ ! -s $dir/results ]]; then
        grep -ao 'KEXECD-VM: .*' "$serial" 2>/dev/null | tr -d '\r' >"$dir/results"
    fi
    for f in journal-boot{1..7}.txt kexecd-boot{1..7}.txt dpkg-install.log dpkg-remove.log update-grub.log; do
        debugfs -R "cat /$f" "$payload" >"$dir/$f" 2>/dev/null
        [[ -s $dir/$f ]] || rm -f "$dir/$f"
    done
    verdict=() reason=() other_failure=
    for n in "${all_n[@]}"; do
        if grep -q "^KEXECD-VM: FAIL $n " "$dir/results"; then
            verdict[$n]=FAIL reason[$n]=$(grep "^KEXECD-VM: FAIL $n " "$dir/results" | head -1 | cut -d' ' -f4- | cut -c1-300)
        elif grep -q "^KEXECD-VM: PASS $n " "$dir/results"; then
            verdict[$n]=PASS
        else
            verdict[$n]=FAIL reason[$n]="no result: the guest never got there"
        fi
    done
    for n in "${!boot_of[@]}"; do
        [[ ${verdict[$n]} == PASS ]] || continue
        b=${boot_of[$n]}
        if ((nboots < b)); then
            verdict[$n]=FAIL reason[$n]="host: $nboots kernel banners on the console, none for boot $b"
        elif [[ ${boot_ran[b]} != "${expect_kver[b]}" ]]; then
            verdict[$n]=FAIL reason[$n]="host: boot $b ran ${boot_ran[b]}, expected ${expect_kver[b]}"
        elif [[ ${boot_fw[b]} != "${expect_fw[b]}" ]]; then
            verdict[$n]=FAIL reason[$n]="host: ${boot_fw[b]} firmware starts by boot $b (${boot_ran[b]}), expected ${expect_fw[b]}"
        else
            how="by kexec"
            ((b > 1 && boot_fw[b] > boot_fw[b - 1])) && how="through the firmware"
            ((b == 1)) && how="through the firmware"
            reason[$n]="host: boot $b (${boot_ran[b]}) came $how, firmware starts ${boot_fw[b]}"
        fi
    done
    grep -q '^KEXECD-VM: DONE' "$dir/results" || other_failure="the guest did not finish (no DONE)"
    local fw_starts
    fw_starts=$(fw_count)
    if ((${fw_starts:-0} > ${expect_fw[-1]})); then
        other_failure="$fw_starts firmware starts, at most ${expect_fw[-1]} expected: an unplanned reboot ($nboots kernel boots)"
    fi
    if grep -q '^KEXECD-VM: FAIL 0 ' "$dir/results"; then
        other_failure=$(grep '^KEXECD-VM: FAIL 0 ' "$dir/results" | head -1 | cut -d' ' -f4-)
    fi
}
# Prints the verdict; sets failed=1 on a failure.
report() {
    local n
    echo
    echo "$1:"
    for n in "${all_n[@]}"; do
        printf '  %s %s. %s%s\n' "${verdict[$n]}" "$n" "${names[$n]}" "${reason[$n]:+ -- ${reason[$n]}}"
        [[ ${verdict[$n]} == PASS ]] || failed=1
    done
    if [[ -n ${other_failure:-} ]]; then
        printf '  FAIL   %s\n' "$other_failure"
        failed=1
    fi
    return 0
}
# On a failure: the guest's console and kexecd's journals, and the logs
# copied to KEXECD_VM_ARTIFACTS/$2.
dump_failure() {
    local dir=$1 f
    echo
    echo "--- guest console (last 60 lines) ---"
    tail -60 "$serial" 2>/dev/null | tr -d '\r'
    for f in "$dir"/kexecd-boot{1..7}.txt; do
        [[ -f $f ]] || continue
        echo "--- kexecd journal, $(basename "$f" .txt) ---"
        tail -40 "$f"
    done
    if [[ -n ${KEXECD_VM_ARTIFACTS:-} ]]; then
        mkdir -p "$KEXECD_VM_ARTIFACTS/$2" &&
            cp -a "$dir"/*.log "$dir"/*.txt "$dir/results" "$serial" "$KEXECD_VM_ARTIFACTS/$2"/ 2>/dev/null
        echo "logs copied to $KEXECD_VM_ARTIFACTS/$2"
    fi
}
tval() { grep "^KEXECD-VM: TIME $1 " "$2" | tail -1 | awk '{print $4}'; }
