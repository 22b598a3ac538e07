#!/bin/sh
# check-xml.sh POLICY BUSCONF INTERFACE: the shipped XML files are well formed
# and, where the DTD is installed locally, valid. Never touches the network
# (--nonet): the DTDs come from polkitd (policyconfig-1.dtd) and
# libdbus-1-dev (introspect.dtd). The bus configuration is only checked for
# well-formedness here: dbus' busconfig.dtd predates send_destination= and
# rejects every real policy; check-bus-policy.sh has dbus-daemon parse it.
set -u
policy=$1 busconf=$2 iface=$3
status=0

check() { # FILE DTD
    if [ -n "$2" ] && [ -r "$2" ]; then
        xmllint --noout --nonet --dtdvalid "$2" "$1" && echo "valid: $1 ($2)" || status=1
    else
        [ -z "$2" ] || echo "NOTE: $2 not installed; $1 checked for well-formedness only"
        xmllint --noout --nonet "$1" && echo "well formed: $1" || status=1
    fi
}

if ! command -v xmllint >/dev/null 2>&1; then
    echo "FAIL: xmllint not found (Debian package libxml2-utils)" >&2
    exit 1
fi
check "$policy" /usr/share/polkit-1/policyconfig-1.dtd
check "$busconf" ""
check "$iface" /usr/share/xml/dbus-1/introspect.dtd
exit $status
