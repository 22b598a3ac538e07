# Sourced by scripts/demo: a throw-away system bus in $1 with the system
# bus's default policy and kexecd's own (dbus/org.kexecd1.conf), so nothing
# touches the machine's real system bus.
start_private_bus() {
    local dir=$1 top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    sed -e "s|@SOCKET@|$dir/system_bus_socket|" \
        -e "s|@EXTRA@|<include>$top/dbus/org.kexecd1.conf</include>|" \
        "$top/tests/data/system-bus.conf.in" > "$dir/bus.conf"
    dbus-daemon --config-file="$dir/bus.conf" --fork --print-pid > "$dir/bus.pid"
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/system_bus_socket"
}
