#!/usr/bin/python3
'''D-Bus integration tests: a fast reboot boots what a cold reboot would
(issue 6). The sample tree has update-grub's grub.cfg, GRUB pinned to the
running kernel with grub-set-default, and "nomodeset" typed at the menu.
The harness is harness.py next to this file.'''

# pylint: disable=wildcard-import,unused-wildcard-import
import importlib.util
import json
import os
import re
import socket
import subprocess
import tempfile

from harness import *  # noqa: F401,F403


def make_corpus():
    '''tests/fuzz/make-corpus.py, for its PE builder (one builder in Python).'''
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fuzz',
                        'make-corpus.py')
    spec = importlib.util.spec_from_file_location('make_corpus', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write(root, path, data, mode='w'):
    full = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, mode) as f:
        f.write(data)


class BootLoaderTest(KexecdTestCase):
    '''what GRUB would boot, and stepping aside'''

    def test_typed_parameter_is_not_carried_over(self):
        self.set_policy(allowed=[A_STAGE])
        self.assert_ok(self.client().call('StageNewest', False), NEWEST)
        self.assertEqual(self.get('StagedCmdline'), DERIVED_CMDLINE)
        self.assertNotIn('nomodeset', self.get('StagedCmdline'))
        self.assertIn('not carrying over nomodeset (typed at the boot menu: not in the entry '
                      f'of {GRUB})', self.log())
        self.assertEqual(self.get('BootLoaderCmdline'), DERIVED_CMDLINE)

    def test_check_is_public_and_says_what_it_found(self):
        self.set_policy()
        items = self.assert_ok(self.client().call('Check'))
        verdicts = {name: verdict for name, verdict, _ in items}
        self.assertEqual(verdicts['kexec'], 'ok', items)
        self.assertEqual(verdicts['step-aside'], 'ok', items)
        self.assertEqual(verdicts['staged'], 'warn', items)  # nothing staged yet
        self.assertEqual(verdicts['systemd'], 'warn', items)  # no systemd on a private bus
        self.assertEqual(self.polkit_calls(), [], 'Check must not ask polkit')

        write(self.root, '/proc/sys/kernel/kexec_load_disabled', '1\n')
        write(self.root, '/no-kexec-reboot', '')
        p = self.kexecctl('check')
        self.assert_exit(p, 1)
        self.assertRegex(p.stdout, r'fail\s+kexec\s+kexec is disabled')
        self.assertRegex(p.stdout, r'warn\s+step-aside\s+/no-kexec-reboot exists')
        p = self.kexecctl('--json', 'check')
        self.assert_exit(p, 1)
        self.assertIn({'name': 'kexec', 'verdict': 'fail',
                       'text': 'kexec is disabled until the next reboot '
                               '(kernel.kexec_load_disabled=1)'}, json.loads(p.stdout))

    def test_status_shows_the_default_and_the_drift(self):
        self.admin('Stage', NEWEST, DERIVED_CMDLINE + ' kexecd.test=1', False)
        p = self.kexecctl('status')
        self.assert_exit(p, 0)
        self.assertRegex(p.stdout, rf'Boot loader: {GRUB}'.replace('(', r'\(').replace(')', r'\)'))
        self.assertRegex(p.stdout, rf'Default: {RUNNING} \(staged the newest instead\)')
        self.assertRegex(p.stdout, r'Drift: \+kexecd.test=1 \(staged against')
        status = json.loads(self.kexecctl('--json', 'status').stdout)
        self.assertEqual(status['cmdline_drift'], ['+kexecd.test=1'])
        self.assertEqual(status['default_version'], RUNNING)

    def test_is_staged_for_scripts(self):
        p = self.kexecctl('is-staged')
        self.assert_exit(p, 1)
        self.assertEqual(p.stdout + p.stderr, '')
        self.admin('StageNewest', False)
        p = self.kexecctl('is-staged')
        self.assert_exit(p, 0)
        self.assertEqual(p.stdout + p.stderr, '')
        self.assert_exit(self.kexecctl('is-staged', 'x'), 2)

    def test_reboot_steps_aside_for_no_kexec_reboot(self):
        self.admin('StageNewest', False)
        write(self.root, '/no-kexec-reboot', '')
        self.set_policy(allowed=[A_REBOOT])
        self.assert_ok(self.client().call('Reboot', False))
        self.wait_for_log('stepping aside at Reboot(): /no-kexec-reboot exists')
        self.assertIn('simulated reboot: would reboot through the firmware now', self.log())
        self.assertEqual(self.get('StagedVersion'), '')
        self.assertFalse(self.get('Loaded'))
        self.assertFalse(os.path.exists(os.path.join(self.root, 'run/kexecd/simulated.json')))


    def test_debug_says_what_it_looked_at(self):
        args = [KEXECD, '--simulate', '--verify-staged', '--root', self.root,
                '--config', self.config]
        quiet = subprocess.run(args, capture_output=True, text=True, timeout=30)
        debug = subprocess.run(args + ['--debug'], capture_output=True, text=True, timeout=30)
        self.assertEqual((quiet.returncode, debug.returncode), (0, 0))
        self.assertNotIn('debug:', quiet.stderr)
        self.assertIn(f'debug: looked at /boot: 5 kernel(s), newest bootable {NEWEST}; boot '
                      f'loader: {GRUB}, default {RUNNING}', debug.stderr)
        self.assertIn(f'debug:   {NO_MODULES} /boot/vmlinuz-{NO_MODULES}: no modules directory',
                      debug.stderr)


class NotifyTest(KexecdTestCase):
    '''sd_notify: READY=1 and a STATUS= line systemctl status shows'''

    NOTIFY = os.path.join(tempfile.gettempdir(), f'kexecd-notify-{os.getpid()}.sock')
    DAEMON_ENV = {'NOTIFY_SOCKET': NOTIFY}

    def setUp(self):
        if os.path.exists(self.NOTIFY):
            os.unlink(self.NOTIFY)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.NOTIFY)
        self.sock.settimeout(10)
        super().setUp()

    def tearDown(self):
        super().tearDown()
        self.sock.close()
        os.unlink(self.NOTIFY)

    def messages_until(self, needle):
        seen = []
        while not any(needle in m for m in seen):
            seen.append(self.sock.recv(4096).decode())
        return seen

    def test_ready_and_status(self):
        seen = self.messages_until('READY=1')
        self.assertIn(f'READY=1\nSTATUS=Nothing staged; newest is {NEWEST}', seen)
        self.admin('StageNewest', False)
        self.messages_until(f'STATUS=Staged {NEWEST} (simulated) (newest)')
        self.admin('Stage', OLDEST, '', False)
        self.messages_until(f'STATUS=Staged {OLDEST} (simulated); newest is {NEWEST}')
        self.stop_daemon()
        self.daemon = None
        self.messages_until('STOPPING=1')


class KernelDefaultTest(KexecdTestCase):
    '''[Stage] Kernel=default: AutoStage follows GRUB's default'''

    CONFIG = '[Stage]\nAutoStage=yes\nKernel=default\nSettleDelaySec=0.2\n'

    def test_default_is_staged_and_stage_newest_still_means_newest(self):
        self.assertEqual(self.get('StagedVersion'), RUNNING)
        self.assertEqual(self.get('NewestVersion'), NEWEST)
        self.assertEqual(self.admin('Stage', '', '', False), RUNNING)
        self.assertEqual(self.admin('StageNewest', False), NEWEST)


class CmdlineSourceTest(KexecdTestCase):
    '''[Stage] CmdlineSource=bootloader: update-grub reaches the next fast reboot'''

    CONFIG = '[Stage]\nAutoStage=yes\nCmdlineSource=bootloader\nSettleDelaySec=0.2\n'

    def test_update_grub_reaches_the_staged_kernel(self):
        self.assertEqual(self.get('StagedCmdline'), DERIVED_CMDLINE)
        cfg = os.path.join(self.root, 'boot/grub/grub.cfg')
        with open(cfg, encoding='utf-8') as f:
            text = f.read()
        # As update-grub does: a new file renamed over the old one.
        with open(cfg + '.new', 'w', encoding='utf-8') as f:
            f.write(text.replace('console=ttyS0,115200', 'console=ttyS0,115200 mitigations=auto'))
        self.signals.clear()
        os.rename(cfg + '.new', cfg)
        # The watch on /boot/grub stages it again, no rescan needed.
        self.wait_for_signal(StagedCmdline=DERIVED_CMDLINE + ' mitigations=auto', timeout=10)
        self.assertIn(f'the derived command line of {NEWEST} changed; staging it again',
                      self.log())
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        self.assertEqual(self.admin('Rescan', False), NEWEST)
        self.assertEqual(self.get('BootLoaderCmdline'), DERIVED_CMDLINE + ' mitigations=auto')


class UkiWatchTest(KexecdTestCase):
    '''the /boot watch on the ESP: a UKI in an EFI/Linux that did not exist when
    kexecd started (kernel-install creates it with the first UKI), then its new
    add-on directory, are staged without a rescan'''

    CONFIG = '[Stage]\nAutoStage=yes\nSettleDelaySec=0.2\n'
    # The ESP is mounted (/efi exists); nothing of EFI/ yet.
    ROOT_FILES = {'/efi/loader/loader.conf': 'timeout 3\n'}
    UKI = '/efi/EFI/Linux/debian-' + NEWEST + '.efi'

    def test_new_directories_are_watched(self):
        self.assertEqual(self.get('StagedKernel'), f'/boot/vmlinuz-{NEWEST}')
        with open(self.root + f'/boot/vmlinuz-{NEWEST}', 'rb') as f:
            kernel = f.read()
        mc = make_corpus()
        self.signals.clear()
        write(self.root, self.UKI, mc.pe([('.cmdline', 'root=UUID=c0ffee ro\n'), ('.uname', NEWEST),
                                          ('.initrd', 'UKI-INITRD'), ('.linux', kernel)]), mode='wb')
        self.wait_for_signal(StagedKernel=self.UKI, StagedCmdline='root=UUID=c0ffee ro', timeout=10)

        self.signals.clear()
        write(self.root, self.UKI + '.extra.d/50-x.addon.efi', mc.pe([('.cmdline', 'addon=1')]),
              mode='wb')
        self.wait_for_signal(StagedCmdline='root=UUID=c0ffee ro addon=1', timeout=10)


class UkiTest(KexecdTestCase):
    '''a unified kernel image on the ESP: found, staged from its sections with
    its own command line, preferred to the /boot file of the same version'''

    CONFIG = '[Stage]\nAutoStage=yes\nSettleDelaySec=0.2\nCmdlineAppend=kexecd.test=1\n'
    UKI = '/efi/EFI/Linux/debian-' + NEWEST + '.efi'
    UKI_CMDLINE = 'root=UUID=c0ffee ro quiet'

    def test_uki_is_listed_and_staged(self):
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        self.assertEqual(self.get('StagedKernel'), f'/boot/vmlinuz-{NEWEST}')
        with open(self.root + f'/boot/vmlinuz-{NEWEST}', 'rb') as f:
            kernel = f.read()
        mc = make_corpus()
        uki = mc.pe([('.osrel', 'ID=debian\n'), ('.cmdline', self.UKI_CMDLINE + '\n'),
                     ('.uname', NEWEST), ('.initrd', 'UKI-INITRD'), ('.linux', kernel)])
        write(self.root, self.UKI, uki, mode='wb')
        self.assertEqual(self.admin('Rescan', False), NEWEST)

        entries = py(self.manager.ListBootEntries())
        # Newest first: the sample's newest image has no modules; then the
        # UKI before the /boot file of the same version.
        self.assertEqual(entries[0][:2], ['boot', NO_MODULES])
        self.assertEqual(entries[1], ['uki', NEWEST, self.UKI, self.UKI, [], True, ''])
        self.assertEqual(entries[2][:4], ['boot', NEWEST, '', f'/boot/vmlinuz-{NEWEST}'])
        boot = [e for e in entries if e[0] == 'boot']
        self.assertEqual([e[1:2] + e[3:] for e in boot], [[k[0]] + k[1:] for k in SAMPLE_KERNELS])
        self.assertEqual(py(self.manager.ListKernels())[1], [NEWEST, self.UKI, [], True, ''])

        # The UKI's .cmdline (not the running kernel's), with CmdlineAppend=.
        self.assertEqual(self.get('StagedKernel'), self.UKI)
        self.assertEqual(self.get('StagedCmdline'), self.UKI_CMDLINE + ' kexecd.test=1')

        p = self.kexecctl('list')
        self.assert_exit(p, 0)
        staged = [line for line in p.stdout.splitlines() if line.startswith('*')]
        self.assertEqual(len(staged), 1)
        self.assertRegex(staged[0], r'^\*\s+' + re.escape(NEWEST) + r'\s+yes\s+uki\s+' +
                         re.escape(self.UKI) + r'\s+staged, newest$')
        listed = json.loads(self.kexecctl('--json=short', 'list').stdout)
        self.assertEqual((listed[1]['source'], listed[1]['entry'], listed[1]['staged']),
                         ('uki', self.UKI, True))
        # Its initrd is a section; the memory held is the sections', not the file's.
        p = self.kexecctl('status')
        self.assert_exit(p, 0)
        self.assertRegex(p.stdout, r"\n\s+Initrd: \(the UKI's sections\)\n")
        self.assertEqual(self.get('StagedBytes'), len(kernel) + len('UKI-INITRD'))

        # Removed: the /boot file of that version again.
        os.unlink(self.root + self.UKI)
        self.assertEqual(self.admin('Rescan', False), NEWEST)
        self.assertEqual(self.get('StagedKernel'), f'/boot/vmlinuz-{NEWEST}')

    def test_bls_entry_on_the_esp_is_staged_with_its_options(self):
        mid = '0123456789abcdef0123456789abcdef'
        d = f'/efi/{mid}/{NEWEST}'
        for name, src in (('linux', f'/boot/vmlinuz-{NEWEST}'),
                          ('initrd', f'/boot/initrd.img-{NEWEST}')):
            with open(self.root + src, 'rb') as f:
                write(self.root, f'{d}/{name}', f.read(), mode='wb')
        entry = f'/efi/loader/entries/{mid}-{NEWEST}.conf'
        write(self.root, entry, f'title Debian\nversion {NEWEST}\nlinux {d[4:]}/linux\n'
              f'initrd {d[4:]}/initrd\noptions root=UUID=b1s ro\noptions quiet\n')
        self.assertEqual(self.admin('Rescan', False), NEWEST)
        entries = py(self.manager.ListBootEntries())
        self.assertEqual(entries[1], ['bls', NEWEST, entry, f'{d}/linux', [f'{d}/initrd'], True, ''])
        self.assertEqual(self.get('StagedKernel'), f'{d}/linux')
        self.assertEqual(self.get('StagedInitrds'), [f'{d}/initrd'])
        self.assertEqual(self.get('StagedCmdline'), 'root=UUID=b1s ro quiet kexecd.test=1')

    def test_broken_uki_is_listed_not_staged(self):
        write(self.root, '/efi/EFI/Linux/broken.efi', b'MZ' + bytes(100), mode='wb')
        self.assertEqual(self.admin('Rescan', False), NEWEST)
        broken = [e for e in py(self.manager.ListBootEntries()) if e[0] == 'uki']
        self.assertEqual(len(broken), 1)
        self.assertEqual(broken[0][2], '/efi/EFI/Linux/broken.efi')
        self.assertFalse(broken[0][5])
        self.assertIn('not a unified kernel image', broken[0][6])
        self.assertEqual(self.get('StagedKernel'), f'/boot/vmlinuz-{NEWEST}')


if __name__ == '__main__':
    main()
