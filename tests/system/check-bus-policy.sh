#!/bin/bash
# check-bus-policy.sh BUSCONF KEXECD SAMPLE_ROOT_TOOL
# Has a real dbus-daemon load dbus/org.kexecd1.conf under the system bus's
# default policy (deny owning and method calls unless allowed), then checks
# the rules with kexecd --simulate owning the name:
#   - root may own org.kexecd1, nobody may not;
#   - nobody may read properties, introspect and call the Manager interface
#     (the daemon and polkit decide; here there is no polkit, so a change is
#     refused by the daemon, not by the bus);
#   - nobody may not call Properties.Set (the bus refuses it).
# The ownership and caller checks need root (to own the name and to switch
# to nobody with setpriv); without root only the parse check runs, and it
# says so.
set -euo pipefail
busconf=$(readlink -f "$1") kexecd=$2 sample=$3

tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/kexecd.log" ] && sed 's/^/  kexecd: /' "$tmp/kexecd.log" >&2; exit 1; }

# The system bus's default policy plus the shipped one.
template="$(dirname "$0")/../data/system-bus.conf.in"
sed -e "s|@SOCKET@|$tmp/bus|" -e "s|@EXTRA@|<include>$busconf</include>|" "$template" > "$tmp/bus.conf"

dbus-daemon --config-file="$tmp/bus.conf" --nofork --print-address=1 \
    > "$tmp/address" 2> "$tmp/bus.log" &
pids+=($!)
for _ in $(seq 50); do
    [ -s "$tmp/address" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$tmp/address" ]; then
    cat "$tmp/bus.log" >&2
    fail "dbus-daemon did not accept $busconf"
fi
echo "ok: dbus-daemon loads $busconf"
addr="unix:path=$tmp/bus"

if [ "$(id -u)" -ne 0 ]; then
    echo "NOTE: not root: the ownership and caller rules were NOT checked (run as root)"
    exit 0
fi

"$sample" "$tmp/root"
DBUS_SYSTEM_BUS_ADDRESS=$addr "$kexecd" --simulate --root "$tmp/root" \
    --config "$tmp/none.conf" > "$tmp/kexecd.log" 2>&1 &
pids+=($!)
bus() { busctl --address="$addr" "$@"; }
for _ in $(seq 100); do
    bus get-property org.kexecd1 /org/kexecd1 org.kexecd1.Manager Loaded >/dev/null 2>&1 && break
    kill -0 "${pids[1]}" 2>/dev/null || fail "kexecd exited (could root not own org.kexecd1?)"
    sleep 0.1
done
bus get-property org.kexecd1 /org/kexecd1 org.kexecd1.Manager Loaded >/dev/null \
    || fail "kexecd did not come up on the test bus"
echo "ok: root owns org.kexecd1"

# busctl for what must work; dbus-send for what must fail, because it prints
# the error's name and message (busctl prints only "Access denied").
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
allowed() { # DESCRIPTION busctl-args...
    local what=$1; shift
    as_nobody busctl --address="$addr" "$@" > "$tmp/out" 2>&1 \
        || { cat "$tmp/out" >&2; fail "nobody may not $what"; }
    echo "ok: nobody may $what"
}
send_as_nobody() { # dbus-send args...: fails when the call fails
    as_nobody dbus-send --bus="$addr" --print-reply "$@" > "$tmp/out" 2>&1
}
rejected_by_bus() { # DESCRIPTION PATTERN dbus-send-args...
    local what=$1 pattern=$2; shift 2
    if send_as_nobody "$@"; then fail "nobody may $what"; fi
    grep -q -E "$pattern" "$tmp/out" \
        || { cat "$tmp/out" >&2; fail "$what failed, but not through the bus policy"; }
    echo "ok: the bus refuses nobody to $what: $(head -1 "$tmp/out")"
}

rejected_by_bus "own org.kexecd1" "AccessDenied.*not allowed to own" \
    --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.RequestName \
    string:org.kexecd1 uint32:4
allowed "read a property" get-property org.kexecd1 /org/kexecd1 org.kexecd1.Manager StagedVersion
allowed "read all properties" call org.kexecd1 /org/kexecd1 \
    org.freedesktop.DBus.Properties GetAll s org.kexecd1.Manager
allowed "introspect" introspect org.kexecd1 /org/kexecd1
allowed "list kernels" call org.kexecd1 /org/kexecd1 org.kexecd1.Manager ListKernels
allowed "ping" call org.kexecd1 /org/kexecd1 org.freedesktop.DBus.Peer Ping
rejected_by_bus "set a property" "AccessDenied.*Rejected send message" \
    --dest=org.kexecd1 /org/kexecd1 org.freedesktop.DBus.Properties.Set \
    string:org.kexecd1.Manager string:AutoStage variant:boolean:false

# Reaches the daemon, which asks polkit (absent here) and refuses.
if send_as_nobody --dest=org.kexecd1 /org/kexecd1 org.kexecd1.Manager.Unstage boolean:false; then
    fail "nobody could unstage without polkit"
fi
if grep -q "Rejected send message" "$tmp/out"; then
    cat "$tmp/out" >&2
    fail "the bus blocks Manager.Unstage; polkit must decide"
fi
echo "ok: Manager.Unstage from nobody reaches kexecd, which refuses it: $(head -1 "$tmp/out")"
