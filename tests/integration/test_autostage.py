#!/usr/bin/python3
'''D-Bus integration tests for kexecd with AutoStage=yes: it follows /boot.
The harness is harness.py next to this file.'''

# pylint: disable=wildcard-import,unused-wildcard-import
import os
import signal
import subprocess

from harness import *  # noqa: F401,F403


class AutoStageTest(KexecdTestCase):
    '''AutoStage=yes: kexecd follows /boot.'''

    CONFIG = '[Stage]\nAutoStage=yes\nSettleDelaySec=0.2\n'

    def test_staged_at_start(self):
        self.assert_staged(
            '^AutoStage$', AutoStage=True, Loaded=True, StagedVersion=NEWEST,
            StagedKernel=f'/boot/vmlinuz-{NEWEST}', StagedInitrds=[f'/boot/initrd.img-{NEWEST}'],
            StagedCmdline=DERIVED_CMDLINE, StagedOrigin='simulated',
            BootLoaderCmdline=DERIVED_CMDLINE)

    def test_new_kernel_is_staged(self):
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        # Half installed (no initrd yet): seen, not staged.
        self.install_kernel(NEW_KERNEL, initrd=False)
        self.wait_until(lambda: any(k[0] == NEW_KERNEL for k in py(self.manager.ListKernels())),
                        5, 'the new kernel to be listed')
        self.pump(1.0)  # several settle delays
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        self.assertEqual([k for k in py(self.manager.ListKernels()) if k[0] == NEW_KERNEL],
                         [[NEW_KERNEL, f'/boot/vmlinuz-{NEW_KERNEL}', [], False, 'no initrd']])

        self.signals.clear()
        self.install_initrd(NEW_KERNEL)
        self.wait_for_signal(StagedVersion=NEW_KERNEL, timeout=10)
        self.assertEqual(self.get('StagedKernel'), f'/boot/vmlinuz-{NEW_KERNEL}')
        self.assertEqual(self.get('StagedInitrds'), [f'/boot/initrd.img-{NEW_KERNEL}'])
        self.assertEqual(self.get('NewestVersion'), NEW_KERNEL)
        self.assertTrue(self.get('Loaded'))

        # Removed again: the newest that is left is staged instead.
        self.signals.clear()
        self.remove_kernel(NEW_KERNEL)
        self.wait_for_signal(StagedVersion=NEWEST, NewestVersion=NEWEST, timeout=10)
        self.assertEqual(self.get('StagedKernel'), f'/boot/vmlinuz-{NEWEST}')

    def test_second_instance_changes_nothing(self):
        '''a second kexecd stops at the bus name before it stages anything'''
        self.admin('Unstage', False)
        state = os.path.join(self.root, 'run', 'kexecd', 'simulated.json')
        self.assertFalse(os.path.exists(state))
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        second = subprocess.run([KEXECD, '--root', self.root, '--config', self.config,
                                 '--simulate'], stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, env=env, timeout=30)
        self.assertNotEqual(second.returncode, 0, second.stderr)
        self.assertNotIn('staged', second.stderr)
        self.assertFalse(os.path.exists(state), 'the second kexecd staged a kernel')
        self.assertEqual(self.get('StagedVersion'), '')
        self.assert_alive()

    def test_settle_delay_and_rescan(self):
        '''nothing is staged before /boot settles; Rescan (kexecctl rescan) stages now'''
        with open(self.config, 'w', encoding='utf-8') as f:
            f.write('[Stage]\nAutoStage=yes\nSettleDelaySec=600\n')
        self.assertEqual(self.stop_daemon(), 0)
        self.start_daemon()
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        self.install_kernel(NEW_KERNEL)
        self.pump(1.5)
        self.assertEqual(self.get('StagedVersion'), NEWEST)

        self.set_policy(allowed=[A_STAGE])
        p = self.kexecctl('rescan')
        self.assert_exit(p, 0)
        self.assertIn(f'Staged: {NEW_KERNEL}', p.stdout)
        self.assertEqual(self.get('StagedVersion'), NEW_KERNEL)
        self.assertEqual([a for _k, _d, a, _f in self.polkit_calls()], [A_STAGE])
        # Nothing new: a rescan keeps what is staged.
        c = self.client()
        self.assert_ok(c.call('Rescan', False), NEW_KERNEL)

    def test_pinned_kernel_stays(self):
        '''a kernel staged by hand is not replaced by a newer one, nor by a restart'''
        self.admin('Stage', OLDEST, '', False)
        self.assertEqual(self.get('StagedVersion'), OLDEST)
        self.install_kernel(NEW_KERNEL)
        self.wait_until(lambda: self.get('NewestVersion') == NEW_KERNEL, 10,
                        'NewestVersion to follow /boot')
        self.pump(1.0)
        self.assertEqual(self.get('StagedVersion'), OLDEST)
        before = self.get_all()
        self.restart_daemon_hard()
        self.assertEqual(self.get_all(), before)

    def test_state_survives_restart(self):
        before = self.get_all()
        self.assertEqual(before['StagedVersion'], NEWEST)
        self.restart_daemon_hard()
        self.assertEqual(self.get_all(), before)
        self.assertIn(f'staged before restart: {NEWEST}', self.log())


class SystemConfigTest(KexecdTestCase):
    '''Without --config: /etc/kexecd.conf and the drop-in directories under
    --root, with systemd's precedence, read again on SIGHUP.'''

    CONFIG = None
    VENDOR = '/usr/lib/kexecd.conf.d/50-vendor.conf'
    ROOT_FILES = {
        VENDOR: '[Stage]\nAutoStage=no\n',
        # The administrator masks the vendor's file: AutoStage is on again,
        # its default.
        '/etc/kexecd.conf.d/50-vendor.conf': ('symlink', '/dev/null'),
        '/etc/kexecd.conf.d/10-settle.conf': '[Stage]\nSettleDelaySec=0.2\n',
    }

    def reload(self):
        with open(self.daemon_log, 'w', encoding='utf-8'):
            pass  # the next reload's line is the only one
        self.daemon.send_signal(signal.SIGHUP)
        self.wait_for_log_re(r'reloaded the configuration \(AutoStage=\w+\)')

    def test_drop_in_precedence(self):
        self.assertTrue(self.get('AutoStage'), 'the masked vendor file was read')
        self.assertEqual(self.get('StagedVersion'), NEWEST)

        self.put('/etc/kexecd.conf.d/50-vendor.conf', None)
        self.reload()
        self.assertFalse(self.get('AutoStage'))

        # /run beats /usr/lib for the same name; a later name beats both.
        self.put('/run/kexecd.conf.d/50-vendor.conf', '[Stage]\nAutoStage=yes\n')
        self.reload()
        self.assertTrue(self.get('AutoStage'))
        self.put('/run/kexecd.conf.d/50-vendor.conf', None)
        self.put('/etc/kexecd.conf.d/90-local.conf', '[Stage]\nAutoStage=yes\n')
        self.reload()
        self.assertTrue(self.get('AutoStage'))
        self.put('/etc/kexecd.conf.d/90-local.conf', None)
        self.reload()
        self.assertFalse(self.get('AutoStage'))


if __name__ == '__main__':
    main()
