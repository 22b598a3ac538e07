# fish completion for kexecctl(1)
set -l verbs status list stage unstage reboot rescan check is-staged fleet
complete -c kexecctl -f
function __kexecctl_versions
    kexecctl --no-legend --no-pager list 2>/dev/null | awk '$1 == "*" { if ($3 == "yes") print $2; next } $2 == "yes" { print $1 }'
end
complete -c kexecctl -n "__fish_seen_subcommand_from stage" -a "(__kexecctl_versions)"
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a status -d 'show what is staged'
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a list -d 'list the kernels in /boot'
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a stage -d 'stage a kernel'
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a unstage -d 'unload the staged kernel'
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a reboot -d 'reboot into the staged kernel'
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a rescan -d 'look at /boot now'
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a check -d 'would a fast reboot work?'
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a is-staged -d 'exit 0 when a kernel is staged'
complete -c kexecctl -n "not __fish_seen_subcommand_from $verbs" -a fleet -d 'the fleet reboot slots'
complete -c kexecctl -n "__fish_seen_subcommand_from fleet; and not __fish_seen_subcommand_from status release" -a 'status release'
complete -c kexecctl -l json -x -a 'pretty short off' -d 'JSON output'
complete -c kexecctl -l no-pager -d 'do not pipe output into a pager'
complete -c kexecctl -l no-legend -d 'no column headers and hints'
complete -c kexecctl -l cmdline -x -d 'stage with this command line'
complete -c kexecctl -l cold -d 'reboot through the firmware'
complete -c kexecctl -l no-wait -d 'fail instead of waiting for a fleet reboot slot'
complete -c kexecctl -l if-needed -d 'reboot only when a newer kernel is staged'
complete -c kexecctl -l fallback-cold -d 'through the firmware when nothing is staged'
complete -c kexecctl -s i -l ignore-inhibitors -d 'override inhibitor locks'
complete -c kexecctl -l no-ask-password -d 'fail instead of asking for a password'
complete -c kexecctl -s q -l quiet -d 'print nothing on success'
complete -c kexecctl -s h -l help -d 'show help'
complete -c kexecctl -l version -d 'show the version'
