# Sourced by scripts/demo: a throw-away system bus in $1, reachable by any
# user, so nothing touches the machine's real system bus.
start_private_bus() {
    local dir=$1
    cat > "$dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
CONF
    dbus-daemon --config-file="$dir/bus.conf" --fork --print-pid > "$dir/bus.pid"
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/system_bus_socket"
}
