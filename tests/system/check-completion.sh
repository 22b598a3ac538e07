#!/bin/bash
# check-completion.sh KEXECCTL SRCDIR: the shell completions parse in their
# shells, offer every command and option `kexecctl --help` lists, and bash's
# completes what it should.
set -u
kexecctl=$1
dir=$2/shell-completion
status=0
fail() { echo "FAIL: $*" >&2; status=1; }

help=$("$kexecctl" --help)
verbs=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 { print $1 }')
options=$(printf '%s\n' "$help" | grep -o -- '--[a-z-]*' | sort -u)
[ -n "$verbs" ] && [ -n "$options" ] || fail "cannot read commands and options from --help"

for f in kexecctl.bash _kexecctl kexecctl.fish; do
    for word in $verbs $options; do
        pattern=$word
        # fish spells --foo as "-l foo".
        [ $f = kexecctl.fish ] && [ "${word#--}" != "$word" ] && pattern="-l ${word#--}"
        grep -q -- "$pattern" "$dir/$f" || fail "$f does not offer $word"
    done
done

bash -n "$dir/kexecctl.bash" || fail "kexecctl.bash: bash -n"
for shell in zsh fish; do
    command -v $shell >/dev/null || { fail "$shell is not installed (.ci/deps.sh installs it)"; continue; }
done
command -v zsh >/dev/null && { zsh -n "$dir/_kexecctl" || fail "_kexecctl: zsh -n"; }
command -v fish >/dev/null && { fish -n "$dir/kexecctl.fish" || fail "kexecctl.fish: fish -n"; }

complete_bash() {  # WORDS...: what bash completes for the last word
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kexecctl
             printf "%s\n" "${COMPREPLY[@]}"' _ "$dir/kexecctl.bash" "$@"
}
got=$(complete_bash kexecctl st | tr '\n' ' ')
[ "$got" = "status stage " ] || fail "'kexecctl st<TAB>' gives '$got', not 'status stage '"
got=$(complete_bash kexecctl --json=s | tr '\n' ' ')
[ "$got" = "short " ] || fail "'kexecctl --json=s<TAB>' gives '$got'"
got=$(complete_bash kexecctl --no-l | tr '\n' ' ')
[ "$got" = "--no-legend " ] || fail "'kexecctl --no-l<TAB>' gives '$got'"
got=$(complete_bash kexecctl reboot --co | tr '\n' ' ')
[ "$got" = "--cold " ] || fail "'kexecctl reboot --co<TAB>' gives '$got'"

[ $status -eq 0 ] && echo "ok: bash, zsh and fish completions offer every command and option"
exit $status
