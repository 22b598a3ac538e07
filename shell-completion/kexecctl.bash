# bash completion for kexecctl(1)
_kexecctl() {
    local cur prev verb i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local verbs='status list stage unstage reboot rescan check is-staged fleet'
    local opts='--json= --no-pager --no-legend --cmdline= --cold --no-wait --if-needed --fallback-cold
                --ignore-inhibitors -i
                --no-ask-password --quiet -q --help -h --version'

    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -*) ;;
            *) verb=${COMP_WORDS[i]}; break ;;
        esac
    done

    case $cur in
        --json=*)
            COMPREPLY=($(compgen -W 'pretty short off' -- "${cur#--json=}"))
            return ;;
        -*)
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
            [[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace
            return ;;
    esac
    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
    elif [[ $verb == fleet ]]; then
        [[ $prev == fleet ]] && COMPREPLY=($(compgen -W 'status release' -- "$cur"))
    elif [[ $verb == stage ]]; then
        # The versions kexecd lists as bootable (no daemon: nothing).
        local versions
        versions=$(kexecctl --no-legend --no-pager list 2>/dev/null |
                   awk '$1 == "*" { if ($3 == "yes") print $2; next } $2 == "yes" { print $1 }')
        COMPREPLY=($(compgen -W "$versions" -- "$cur"))
    fi
}
complete -F _kexecctl kexecctl
