#!/bin/sh
# check-kernel-hook.sh HOOK: the kernel package hook (as generated for the
# build) asks for a rescan the right way and never fails: it runs
# `kexecctl --no-ask-password -q rescan`, exits 0 whatever kexecctl does,
# stays quiet when kexecd is unreachable (status 5) or not installed, warns
# on other failures, gives up after 15 s, and leaves a masked kexecd alone.
# kexecctl (and systemctl, for the masked case) are replaced by stubs.
set -eu
hook=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

grep -q '^kexecctl=' "$hook" || fail "$hook has no kexecctl= line to point at the stub"
sed "s|^kexecctl=.*|kexecctl=$tmp/kexecctl|" "$hook" > "$tmp/hook"

stub() { # EXIT_STATUS [SLEEP]
    cat > "$tmp/kexecctl" <<STUB
#!/bin/sh
echo "\$*" > "$tmp/args"
sleep ${2:-0}
echo "kexecctl: stub message" >&2
exit $1
STUB
    chmod +x "$tmp/kexecctl"
}
run() { # expected: QUIET or WARN; args...
    want=$1; shift
    rm -f "$tmp/args"
    sh "$tmp/hook" "$@" > "$tmp/out" 2>&1 || fail "hook exited $? for $*"
    case $want in
        QUIET) [ ! -s "$tmp/out" ] || { cat "$tmp/out" >&2; fail "hook not quiet for $*"; } ;;
        WARN) grep -q "kexecd: rescan" "$tmp/out" || { cat "$tmp/out" >&2; fail "no warning for $*"; } ;;
    esac
}

# Not installed (a conffile left behind by a removed package).
run QUIET 6.1.0-28-amd64 /boot/vmlinuz-6.1.0-28-amd64
[ ! -e "$tmp/args" ] || fail "ran a missing kexecctl"
echo "ok: quiet without kexecctl"

stub 0
for args in "6.1.0-28-amd64 /boot/vmlinuz-6.1.0-28-amd64" \
            "add 6.1.0-28-amd64 /boot/efi/x /boot/vmlinuz-6.1.0-28-amd64 /boot/initrd.img-6.1.0-28-amd64" \
            "remove 6.1.0-28-amd64 /boot/efi/x"; do
    # shellcheck disable=SC2086
    run QUIET $args
    [ "$(cat "$tmp/args")" = "--no-ask-password -q rescan" ] || fail "kexecctl called as: $(cat "$tmp/args")"
done
echo "ok: Debian and kernel-install calls run 'kexecctl --no-ask-password -q rescan'"

mkdir "$tmp/bin"
printf '#!/bin/sh\necho masked\nexit 1\n' > "$tmp/bin/systemctl"
chmod +x "$tmp/bin/systemctl"
PATH="$tmp/bin:$PATH" run QUIET 6.1.0-28-amd64 /boot/vmlinuz-6.1.0-28-amd64
[ ! -e "$tmp/args" ] || fail "asked a masked kexecd to rescan"
echo "ok: quiet, and no rescan, when kexecd.service is masked"

stub 5
run QUIET 6.1.0-28-amd64 /boot/vmlinuz-6.1.0-28-amd64
echo "ok: quiet when kexecd is unreachable (status 5)"

stub 1
run WARN 6.1.0-28-amd64 /boot/vmlinuz-6.1.0-28-amd64
grep -q "status 1" "$tmp/out" || fail "warning does not give the status: $(cat "$tmp/out")"
echo "ok: warns and exits 0 when the rescan fails: $(cat "$tmp/out")"

stub 0 60
start=$(date +%s)
run WARN 6.1.0-28-amd64 /boot/vmlinuz-6.1.0-28-amd64
took=$(( $(date +%s) - start ))
[ "$took" -le 20 ] || fail "hook took ${took}s with a hanging kexecctl"
echo "ok: gives up after ${took}s with a hanging kexecctl: $(cat "$tmp/out")"
