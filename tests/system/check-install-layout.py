#!/usr/bin/python3
'''check-install-layout.py BUILDDIR: `meson install --destdir` lays out every
file kexecd ships, where the build's own options say it goes.

The expected places are worked out here from the build options and from
systemd's pkg-config file, independently of the meson.build files that
install them; the test then checks each file exists (executable where it
must be) and that the generated files name the installed programs.
'''
import json
import os
import re
import stat
import subprocess
import sys
import tempfile

build = os.path.abspath(sys.argv[1])


def meson(*args, **kw):
    return subprocess.run(['meson', *args], check=True, text=True, **kw)


opts = {o['name']: o['value'] for o in json.loads(
    meson('introspect', '--buildoptions', build, stdout=subprocess.PIPE).stdout)}
prefix = opts['prefix']


def under_prefix(name):
    return os.path.join(prefix, opts[name])  # an absolute option stays as it is


def systemd_dir(option, variable, fallback):
    """The option if set, else systemd.pc's variable, else prefix/fallback."""
    if opts.get(option):
        return opts[option]
    try:
        return subprocess.run(['pkg-config', '--variable=' + variable, 'systemd'], check=True,
                              text=True, stdout=subprocess.PIPE).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.join(prefix, fallback)


bindir, libexecdir = under_prefix('bindir'), under_prefix('libexecdir')
datadir, mandir, sysconfdir = under_prefix('datadir'), under_prefix('mandir'), under_prefix('sysconfdir')
unitdir = systemd_dir('systemdsystemunitdir', 'systemdsystemunitdir', 'lib/systemd/system')
shutdowndir = systemd_dir('systemdshutdowndir', 'systemdshutdowndir',
                          'lib/systemd/system-shutdown')

presetdir = systemd_dir('systemdsystempresetdir', 'systemdsystempresetdir',
                        'lib/systemd/system-preset')

EXEC, DATA = True, False
expected = [
    (f'{libexecdir}/kexecd', EXEC),
    (f'{bindir}/kexecctl', EXEC),
    (f'{unitdir}/kexecd.service', DATA),
    (f'{unitdir}/kexecd-verify.service', DATA),
    (f'{unitdir}/kexecd-autoreboot.service', DATA),
    (f'{unitdir}/kexecd-autoreboot.timer', DATA),
    (f'{datadir}/kexecd/fleet-network.conf', DATA),
    (f'{unitdir}/kexec.target.wants/kexecd-verify.service', DATA),
    (f'{unitdir}/reboot.target.wants/kexecd-verify.service', DATA),
    (f'{presetdir}/80-kexecd.preset', DATA),
    (f'{shutdowndir}/kexecd', EXEC),
    (f'{sysconfdir}/kernel/postinst.d/zz-kexecd', EXEC),
    (f'{sysconfdir}/kernel/postrm.d/zz-kexecd', EXEC),
    (f'{prefix}/lib/kernel/install.d/90-kexecd.install', EXEC),
    (f'{sysconfdir}/kexecd.conf', DATA),
    (f'{datadir}/dbus-1/system.d/org.kexecd1.conf', DATA),
    (f'{datadir}/dbus-1/system-services/org.kexecd1.service', DATA),
    (f'{datadir}/dbus-1/interfaces/org.kexecd1.xml', DATA),
    (f'{datadir}/polkit-1/actions/org.kexecd1.policy', DATA),
    (f'{mandir}/man8/kexecd.8', DATA),
    (f'{mandir}/man1/kexecctl.1', DATA),
    (f'{mandir}/man5/kexecd.conf.5', DATA),
    (f'{datadir}/bash-completion/completions/kexecctl', DATA),
    (f'{datadir}/zsh/site-functions/_kexecctl', DATA),
    (f'{datadir}/fish/vendor_completions.d/kexecctl.fish', DATA),
]

failures = []
with tempfile.TemporaryDirectory() as dest:
    meson('install', '-C', build, '--destdir', dest, '--no-rebuild', '--quiet')
    installed = sorted(os.path.relpath(os.path.join(d, f), dest)
                       for d, _, files in os.walk(dest) for f in files)
    print('installed:\n  /' + '\n  /'.join(installed))

    def read(path):
        with open(dest + path, encoding='utf-8') as f:
            return f.read()

    for path, executable in expected:
        full = dest + path
        if not os.path.isfile(full):
            failures.append(f'missing: {path}')
            continue
        mode = os.stat(full).st_mode
        if executable and not mode & stat.S_IXOTH:
            failures.append(f'not executable: {path} ({stat.filemode(mode)})')
        if not executable and mode & stat.S_IXUSR:
            failures.append(f'executable but data: {path} ({stat.filemode(mode)})')

    checks = [
        (f'{unitdir}/kexecd.service', f'ExecStart={libexecdir}/kexecd\n'),
        (f'{unitdir}/kexecd-verify.service', f'ExecStart=-{libexecdir}/kexecd --verify-staged\n'),
        (f'{unitdir}/kexecd-autoreboot.service',
         f'ExecStart={bindir}/kexecctl --no-ask-password reboot --if-needed\n'),
        (f'{sysconfdir}/kernel/postinst.d/zz-kexecd', f'kexecctl={bindir}/kexecctl\n'),
        (f'{prefix}/lib/kernel/install.d/90-kexecd.install', f'kexecctl={bindir}/kexecctl\n'),
    ]
    for path, needle in checks:
        if os.path.isfile(dest + path) and needle not in read(path):
            failures.append(f'{path} does not contain {needle.strip()!r}')
    generated = [path for path, _ in checks]
    for path in generated:
        if os.path.isfile(dest + path) and re.search(r'@[a-z_]+@', read(path)):
            failures.append(f'{path} has an unsubstituted @variable@')

for f in failures:
    print('FAIL:', f, file=sys.stderr)
print(f'{len(expected) - len(failures)} of {len(expected)} expected files in place')
sys.exit(1 if failures else 0)
