#!/bin/sh
# check-shutdown-hook.sh HOOK: the system-shutdown hook runs `kexec -e` only
# for "reboot" with [Reboot] UseKexec=yes (the flag file), kexecd's own
# record and a loaded kernel, and exits 0 in every case. Its paths are moved
# into a temporary directory and kexec is replaced by a stub.
set -eu
hook=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

sed -e "s|/run/kexecd|$t/run|g" -e "s|/sys/kernel/kexec_loaded|$t/kexec_loaded|g" \
    -e "s|/usr/sbin/kexec /sbin/kexec|$t/kexec|" -e "s|/dev/kmsg|$t/kmsg|g" "$hook" > "$t/hook"
if grep -n -E '/run/kexecd|/sys/kernel|/sbin/kexec|/dev/kmsg' "$t/hook" | grep -v '^[0-9]*:#'; then
    fail "the hook uses a path this test does not move"
fi
mkdir "$t/run"

set_kexec() { # EXIT_STATUS, or "none"
    rm -f "$t/kexec"
    [ "$1" = none ] && return
    printf '#!/bin/sh\necho "$*" >> %s/kexec.calls\nexit %s\n' "$t" "$1" > "$t/kexec"
    chmod +x "$t/kexec"
}
case_() { # DESCRIPTION EXPECT(kexec|none) VERB FLAG STATE LOADED
    desc=$1 expect=$2 verb=$3
    rm -f "$t/run/reboot-uses-kexec" "$t/run/state.json" "$t/kexec.calls" "$t/kmsg"
    [ "$4" = 1 ] && echo 1 > "$t/run/reboot-uses-kexec"
    [ "$5" = 1 ] && echo '{}' > "$t/run/state.json"
    echo "$6" > "$t/kexec_loaded"
    sh "$t/hook" "$verb" || fail "$desc: exit status $?"
    if [ "$expect" = kexec ]; then
        [ "$(cat "$t/kexec.calls" 2>/dev/null)" = "-e" ] || fail "$desc: kexec -e not run"
    else
        [ ! -e "$t/kexec.calls" ] || fail "$desc: ran kexec $(cat "$t/kexec.calls")"
    fi
    echo "ok: $desc${expect:+ ($expect)}$( [ -s "$t/kmsg" ] && printf ': %s' "$(cat "$t/kmsg")")"
}

set_kexec 0
case_ "reboot with UseKexec, staged, loaded" kexec reboot 1 1 1
case_ "systemd kexecs by itself on 'kexec'" none kexec 1 1 1
case_ "poweroff" none poweroff 1 1 1
case_ "halt" none halt 1 1 1
case_ "reboot without UseKexec" none reboot 0 1 1
case_ "reboot, UseKexec, nothing staged by kexecd (after --cold)" none reboot 1 0 1
case_ "reboot, UseKexec, staged but not loaded" none reboot 1 1 0
set_kexec 1
case_ "kexec -e fails: reboot through firmware" kexec reboot 1 1 1
grep -q "failed" "$t/kmsg" || fail "no message when kexec -e fails"
set_kexec none
case_ "no kexec tool" none reboot 1 1 1
grep -q "kexec-tools" "$t/kmsg" || fail "no message about the missing kexec tool"
