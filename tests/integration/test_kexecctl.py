#!/usr/bin/python3
'''Integration tests for kexecctl against kexecd on a private bus. The
harness is harness.py next to this file.'''

# pylint: disable=wildcard-import,unused-wildcard-import
import json
import subprocess

from harness import *  # noqa: F401,F403


class KexecctlTest(KexecdTestCase):
    '''kexecctl against the daemon.'''

    def test_list(self):
        p = self.kexecctl('list')
        self.assert_exit(p, 0)
        lines = p.stdout.splitlines()
        self.assertRegex(lines[0], r'^\s+VERSION\s+BOOTABLE\s+SOURCE\s+IMAGE\s+NOTE$')
        rows = [line.split() for line in lines[1:]]
        self.assertEqual([r[0] for r in rows], [k[0] for k in SAMPLE_KERNELS])
        self.assertEqual([r[1] for r in rows], ['no', 'yes', 'no', 'yes', 'yes'])
        self.assertEqual([r[2] for r in rows], ['boot'] * 5)
        self.assertIn('no modules directory', lines[1])
        self.assertIn('newest', lines[2])
        self.assertIn('no initrd', lines[3])
        self.assertIn('running', lines[4])

        p = self.kexecctl('--json', 'list')
        self.assert_exit(p, 0)
        self.assertEqual(json.loads(p.stdout), [
            {'version': v, 'image': i, 'initrds': r, 'bootable': b, 'reason': why,
             'source': 'boot', 'entry': '', 'staged': False, 'running': v == RUNNING}
            for v, i, r, b, why in SAMPLE_KERNELS])

        self.admin('Stage', OLDEST, '', False)
        p = self.kexecctl('list')
        self.assert_exit(p, 0)
        starred = [line for line in p.stdout.splitlines() if line.startswith('*')]
        self.assertEqual(len(starred), 1)
        self.assertIn(OLDEST, starred[0])
        self.assertIn('staged', starred[0])

        self.assert_exit(self.kexecctl('list', 'extra'), 2)

    def test_status(self):
        p = self.kexecctl('status')
        self.assert_exit(p, 0)
        self.assertRegex(p.stdout, r'Staged: nothing\n')
        self.assertIn(f'Newest: {NEWEST}\n', p.stdout)
        self.assertIn(f'Running: {RUNNING}\n', p.stdout)
        self.assertIn(f"'kexecctl stage' stages {NEWEST}", p.stdout)
        self.assertEqual(self.kexecctl().stdout, p.stdout, 'status is the default verb')

        p = self.kexecctl('status', '--json')
        self.assert_exit(p, 0)
        self.assertEqual(json.loads(p.stdout), {
            'loaded': False, 'staged_version': '', 'staged_kernel': '', 'staged_initrds': [],
            'staged_cmdline': '', 'staged_origin': '', 'newest_version': NEWEST,
            'running_version': RUNNING, 'auto_stage': False, 'boot_loader': GRUB,
            'default_version': RUNNING, 'boot_loader_cmdline': '', 'cmdline_drift': [],
            'staged_by': '', 'staged_timestamp_usec': 0, 'staged_bytes': 0,
            'boot_kind': 'firmware', 'firmware_usec': 0, 'loader_usec': 0, 'fleet_state': ''})
        self.assertIn('Last boot: through the firmware', self.kexecctl('status').stdout)
        # --json=short: one line, as systemd's tools print it.
        p = self.kexecctl('status', '--json=short')
        self.assert_exit(p, 0)
        self.assertEqual(p.stdout.count('\n'), 1)
        self.assertEqual(json.loads(p.stdout)['newest_version'], NEWEST)
        self.assertEqual(self.kexecctl('status', '--json=off').stdout, self.kexecctl().stdout)

        self.admin('StageNewest', False)
        p = self.kexecctl('status')
        self.assert_exit(p, 0)
        self.assertIn(f'Staged: {NEWEST} (simulated)\n', p.stdout)
        self.assertIn(f'Kernel: /boot/vmlinuz-{NEWEST}\n', p.stdout)
        self.assertIn(f'Cmdline: {DERIVED_CMDLINE}\n', p.stdout)
        self.assertIn('Loaded: yes\n', p.stdout)
        self.assertIn("'kexecctl reboot' boots it", p.stdout)
        # Who staged it and when, and what it holds.
        self.assertRegex(p.stdout, r'Staged by: uid \d+ pid \d+ .*\(:1\.\d+\), '
                                   r'\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+; \d+s ago\n')
        self.assertRegex(p.stdout, r'Memory: \d+(\.\d)?[BKMG] \(kernel and initrds')
        self.assertNotIn('\x1b[', p.stdout, 'colours on a pipe')
        # --no-legend drops the hint. Colours: on a terminal unless NO_COLOR;
        # SYSTEMD_COLORS decides over both, as in systemd.
        self.assertNotIn("'kexecctl reboot' boots it", self.kexecctl('--no-legend').stdout)
        green = f'\x1b[0;32m{NEWEST}\x1b[0m'
        self.assertIn(green, self.kexecctl(env={'SYSTEMD_COLORS': '1'}).stdout)
        self.assertIn(green, self.on_terminal())
        self.assertNotIn('\x1b[', self.on_terminal(NO_COLOR='1'))
        self.assertIn(green, self.on_terminal(NO_COLOR='1', SYSTEMD_COLORS='yes'))
        self.assertNotIn('\x1b[', self.on_terminal(SYSTEMD_COLORS='0'))
        j = json.loads(self.kexecctl('--json').stdout)
        self.assertEqual((j['staged_version'], j['staged_origin'], j['loaded'],
                          j['staged_cmdline'], j['staged_initrds']),
                         (NEWEST, 'simulated', True, DERIVED_CMDLINE,
                          [f'/boot/initrd.img-{NEWEST}']))

    def on_terminal(self, **env):
        '''kexecctl status's output with a terminal (script(1)'s pty) as stdout.'''
        env = {'PATH': '/usr/bin:/bin', 'LANG': 'C.UTF-8', 'TERM': 'xterm',
               'DBUS_SYSTEM_BUS_ADDRESS': self.bus_address, **env}
        p = subprocess.run(['script', '-qec', f'{self.kexecctl_path} --no-pager status',
                            '/dev/null'], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Staged:', p.stdout)
        return p.stdout

    def test_stage_unstage_reboot(self):
        self.set_policy(allowed=ALL_ACTIONS)
        p = self.kexecctl('stage')
        self.assert_exit(p, 0)
        self.assertIn(f'Staged {NEWEST}.', p.stdout)
        self.assertEqual(self.get('StagedVersion'), NEWEST)

        p = self.kexecctl('stage', OLDEST)
        self.assert_exit(p, 0)
        self.assertIn(f'Staged {OLDEST}.', p.stdout)
        self.assertEqual(self.get('StagedVersion'), OLDEST)

        p = self.kexecctl('stage', NEWEST, '--cmdline=root=/dev/vda1 ro')
        self.assert_exit(p, 0)
        self.assertEqual(self.get('StagedCmdline'), 'root=/dev/vda1 ro')

        p = self.kexecctl('reboot')
        self.assert_exit(p, 0)
        # --simulate: kexecctl says the reboot was only simulated.
        self.assertIn('Simulated reboot', p.stdout)
        self.wait_for_log(f'simulated reboot: would reboot into {NEWEST}')

        p = self.kexecctl('-q', 'unstage')
        self.assert_exit(p, 0)
        self.assertEqual(p.stdout, '')
        self.assertEqual(self.get_all(), NOTHING_STAGED)

        p = self.kexecctl('unstage')
        self.assert_exit(p, 3)
        self.assertIn('nothing is staged', p.stderr)
        self.assert_exit(self.kexecctl('reboot'), 3)

        p = self.kexecctl('stage', '9.9.9-amd64')
        self.assert_exit(p, 3)
        self.assertIn('9.9.9-amd64', p.stderr)
        p = self.kexecctl('stage', '../../etc/passwd')
        self.assert_exit(p, 2)
        p = self.kexecctl('stage', NO_MODULES)
        self.assert_exit(p, 1)
        self.assertIn('no modules directory', p.stderr)
        self.assert_exit(self.kexecctl('stage', 'a', 'b'), 2)
        self.assert_exit(self.kexecctl('stage', '--cmdline='), 2)
        self.assert_exit(self.kexecctl('unstage', '--cmdline=quiet'), 2)
        self.assert_exit(self.kexecctl('frobnicate'), 2)
        # A bad option: one line naming it, as systemctl does, not the help.
        for args, said in ((('--frobnicate',), "'--frobnicate'"), (('-z',), "-- 'z'"),
                           (('--json=yaml', 'status'), 'yaml')):
            with self.subTest(args=args):
                p = self.kexecctl(*args)
                self.assert_exit(p, 2)
                self.assertEqual(p.stderr.count('\n'), 1, p.stderr)
                self.assertIn(said, p.stderr)
                self.assertEqual(p.stdout, '')
        self.assertEqual(self.get_all(), NOTHING_STAGED)

    def test_no_ask_password(self):
        self.set_policy(challenge=ALL_ACTIONS)
        p = self.kexecctl('--no-ask-password', 'stage')
        self.assert_exit(p, 4)
        self.assertIn('authentication is required', p.stderr)
        self.assertIn('without --no-ask-password', p.stderr)
        self.assertEqual(self.get('StagedVersion'), '')

        # Without it the call is interactive and the mock "asks" and allows.
        p = self.kexecctl('stage')
        self.assert_exit(p, 0)
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        self.assertEqual([(a, f) for _k, _d, a, f in self.polkit_calls()],
                         [(A_STAGE, 0), (A_STAGE, 1)])

    def test_denied(self):
        self.set_policy()
        p = self.kexecctl('stage')
        self.assert_exit(p, 4)
        self.assertIn('not authorized', p.stderr)
        self.assertIn('ask your administrator', p.stderr)
        self.assert_exit(self.kexecctl('unstage'), 4)
        self.assert_exit(self.kexecctl('--no-ask-password', 'reboot'), 4)
        self.assertNotIn('simulated reboot', self.log())
        self.assertEqual(self.get_all(), NOTHING_STAGED)
        # Reads need nothing.
        self.assert_exit(self.kexecctl('status'), 0)
        self.assert_exit(self.kexecctl('list'), 0)

    def test_as_root(self):
        self.require_root()
        self.set_policy()
        p = self.kexecctl('stage', unprivileged=False)
        self.assert_exit(p, 0)
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        self.assert_exit(self.kexecctl('unstage', unprivileged=False), 0)
        self.assertEqual(self.polkit_calls(), [])

    def test_daemon_not_running(self):
        self.assertEqual(self.stop_daemon(), 0)
        for args in (('status',), ('list',), ('stage',), ('--no-ask-password', 'unstage')):
            with self.subTest(args=args):
                p = self.kexecctl(*args)
                self.assert_exit(p, 5)
                self.assertIn('Is kexecd running?', p.stderr)
        # No bus at all.
        p = self.kexecctl('status', bus_address=f'unix:path={self.workdir}/no-such-socket')
        self.assert_exit(p, 5)
        self.assertIn('Is kexecd running?', p.stderr)


if __name__ == '__main__':
    main()
