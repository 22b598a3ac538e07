#!/usr/bin/python3
'''D-Bus integration tests for kexecd: the API and its authorization.
The harness (private bus, polkitd mock, kexecd --simulate) is harness.py
next to this file; AutoStage and kexecctl have files of their own.'''

# pylint: disable=wildcard-import,unused-wildcard-import
import os
import subprocess
import time

import dbus

from harness import *  # noqa: F401,F403


class ApiTest(KexecdTestCase):
    '''The D-Bus API and its authorization, AutoStage=no.'''

    def test_list_kernels(self):
        '''newest first, with the reason a kernel cannot be staged; public'''
        self.assertEqual(py(self.manager.ListKernels()), SAMPLE_KERNELS)

        self.set_policy()  # polkit denies everything
        c = self.client()
        self.assert_ok(c.call('ListKernels'), SAMPLE_KERNELS)
        self.assertEqual(self.polkit_calls(), [], 'ListKernels must not ask polkit')

    def test_properties(self):
        '''readable by anyone, not writable'''
        self.set_policy()
        self.assertEqual(self.get_all(), NOTHING_STAGED)
        c = self.client()
        self.assert_ok(c.get_all(), NOTHING_STAGED)
        for name, value in NOTHING_STAGED.items():
            self.assert_ok(c.get(name), value)
        r = c.call('Set', IFACE, 'StagedVersion', NEWEST, interface=dbus.PROPERTIES_IFACE,
                   signature='ssv')
        if IS_ROOT:
            # The shipped bus policy keeps Properties.Set from reaching kexecd.
            self.assert_error(r, ACCESS_DENIED)
        else:
            self.assertFalse(r['ok'], r)
        # And kexecd itself refuses it to anyone, root included.
        with self.assertRaisesRegex(dbus.exceptions.DBusException, 'PropertyReadOnly'):
            self.props.Set(IFACE, 'StagedVersion', NEWEST, signature='ssv')
        r = c.call('Introspect', interface='org.freedesktop.DBus.Introspectable')
        xml = self.assert_ok(r)
        for member in ('ListKernels', 'StageNewest', 'Stage', 'Unstage', 'Reboot', 'Rescan',
                       'StagedVersion', 'AutoStage'):
            self.assertIn(f'name="{member}"', xml)
        self.assertEqual(self.polkit_calls(), [])
        self.assertEqual(self.get_all(), NOTHING_STAGED)

    def test_name_cannot_be_taken(self):
        '''only root may own org.kexecd1 (shipped bus policy)'''
        self.require_root()
        c = self.client()
        request = dict(dest='org.freedesktop.DBus', path='/org/freedesktop/DBus',
                       interface='org.freedesktop.DBus', signature='su')
        self.assert_error(c.call('RequestName', BUS_NAME, 0, **request), ACCESS_DENIED)
        self.assertEqual(self.stop_daemon(), 0)
        # Not even when it is free.
        self.assert_error(c.call('RequestName', BUS_NAME, 0, **request), ACCESS_DENIED)
        self.assertFalse(self.bus.name_has_owner(BUS_NAME))
        # Root may: kexecd comes back.
        self.start_daemon()
        self.assert_alive()

    def test_allowed(self):
        '''an unprivileged caller whose actions polkit allows'''
        self.set_policy(allowed=[A_STAGE, A_UNSTAGE, A_REBOOT])
        c = self.client()

        self.assert_ok(c.call('StageNewest', False), NEWEST)
        self.wait_for_signal(StagedVersion=NEWEST, Loaded=True, StagedOrigin='simulated')
        # Who asked: the unprivileged client's uid and pid, and its bus name.
        self.assert_staged(
            rf'^uid {UNPRIV_UID} pid \d+ .*\(:1\.\d+\)$', Loaded=True, StagedVersion=NEWEST,
            StagedKernel=f'/boot/vmlinuz-{NEWEST}', StagedInitrds=[f'/boot/initrd.img-{NEWEST}'],
            StagedCmdline=DERIVED_CMDLINE, StagedOrigin='simulated',
            BootLoaderCmdline=DERIVED_CMDLINE)
        self.assertIn(f'staged {NEWEST}', self.log())

        self.signals.clear()
        self.assert_ok(c.call('Stage', OLDEST, '', False), OLDEST)
        self.wait_for_signal(StagedVersion=OLDEST, StagedKernel=f'/boot/vmlinuz-{OLDEST}')
        self.assertEqual(self.get('StagedCmdline'), DERIVED_CMDLINE)

        self.assert_ok(c.call('Reboot', False))
        self.wait_for_log(f'simulated reboot: would reboot into {OLDEST}')
        self.assertTrue(self.get('Loaded'))

        self.signals.clear()
        self.assert_ok(c.call('Unstage', False))
        self.wait_for_signal(StagedVersion='', Loaded=False, StagedOrigin='')
        self.assertEqual(self.get_all(), NOTHING_STAGED)

        # AutoStage=no: a rescan looks, but stages nothing.
        self.assert_ok(c.call('Rescan', False), '')
        self.assertEqual(self.get_all(), NOTHING_STAGED)

        calls = self.polkit_calls()
        self.assertEqual([(a, f) for _k, _d, a, f in calls],
                         [(A_STAGE, 0), (A_STAGE, 0), (A_REBOOT, 0), (A_UNSTAGE, 0),
                          (A_STAGE, 0)])
        self.assert_subjects(calls, c)

    def test_denied(self):
        '''AccessDenied for every state-changing method, state unchanged'''
        self.set_policy()
        c = self.client()
        # Authorization comes first: nothing-staged is no business of the caller's.
        self.assert_error(c.call('Unstage', False), ACCESS_DENIED, A_UNSTAGE)
        self.assert_error(c.call('Reboot', True), ACCESS_DENIED, A_REBOOT)
        self.assertEqual(self.get_all(), NOTHING_STAGED)
        calls = self.polkit_calls()
        self.assertEqual([(a, f) for _k, _d, a, f in calls], [(A_UNSTAGE, 0), (A_REBOOT, 1)])
        self.assert_subjects(calls, c)

        self.admin('Stage', OLDEST, '', False)
        self.polkit.ClearCalls()
        before = self.get_all()
        self.assertEqual(before['StagedVersion'], OLDEST)
        self.pump(0.2)
        self.signals.clear()

        attempts = [
            (('StageNewest', False), A_STAGE),
            (('StageNewest', True), A_STAGE),
            (('Stage', '', '', False), A_STAGE),
            (('Stage', NEWEST, '', True), A_STAGE),
            (('Stage', NEWEST, 'init=/bin/sh', False), A_CUSTOM),
            (('Unstage', False), A_UNSTAGE),
            (('Unstage', True), A_UNSTAGE),
            (('Reboot', False), A_REBOOT),
            (('Reboot', True), A_REBOOT),
            (('Rescan', False), A_STAGE),
        ]
        for call, action in attempts:
            with self.subTest(call=call):
                self.assert_error(c.call(*call), ACCESS_DENIED, f'not authorized for {action}')

        self.pump(0.3)
        self.assertEqual(self.get_all(), before)
        self.assertEqual([s for s in self.signals if s[0] == IFACE], [],
                         'a denied call changed a property')
        self.assertNotIn('simulated reboot', self.log())
        calls = self.polkit_calls()
        self.assertEqual([(a, f) for _k, _d, a, f in calls],
                         [(action, 1 if call[-1] else 0) for call, action in attempts])
        self.assert_subjects(calls, c)
        self.assert_alive()

    def test_custom_cmdline_needs_stage_custom(self):
        '''Stage with a command line asks for org.kexecd1.stage-custom'''
        self.set_policy(allowed=[A_STAGE])
        c = self.client()
        self.assert_error(c.call('Stage', '', 'root=/dev/vda1 ro init=/bin/sh', False),
                          ACCESS_DENIED, A_CUSTOM)
        self.assert_error(c.call('Stage', OLDEST, 'quiet', True), ACCESS_DENIED, A_CUSTOM)
        self.assertEqual(self.get_all(), NOTHING_STAGED)
        self.assert_ok(c.call('Stage', OLDEST, '', False), OLDEST)
        self.assertEqual(self.get('StagedCmdline'), DERIVED_CMDLINE)

        self.set_policy(allowed=[A_STAGE, A_CUSTOM])
        self.assert_ok(c.call('Stage', NEWEST, 'root=/dev/vda1 ro', False), NEWEST)
        self.assertEqual(self.get('StagedCmdline'), 'root=/dev/vda1 ro')
        self.assertEqual(self.get('StagedVersion'), NEWEST)

        calls = self.polkit_calls()
        self.assertEqual([a for _k, _d, a, _f in calls], [A_CUSTOM, A_CUSTOM, A_STAGE, A_CUSTOM])
        self.assert_subjects(calls, c)

    def test_interactive_authorization(self):
        '''a challenge fails a non-interactive call and passes an interactive one'''
        self.set_policy(challenge=ALL_ACTIONS)
        c = self.client()
        for call in (('StageNewest', False), ('Stage', OLDEST, '', False),
                     ('Stage', '', 'quiet', False), ('Unstage', False), ('Reboot', False),
                     ('Rescan', False)):
            with self.subTest(call=call):
                self.assert_error(c.call(*call), INTERACTIVE_REQUIRED, 'interactive')
        self.assertEqual(self.get_all(), NOTHING_STAGED)
        self.assertEqual({f for _k, _d, _a, f in self.polkit_calls()}, {0})
        self.polkit.ClearCalls()

        self.assert_ok(c.call('StageNewest', True), NEWEST)
        self.assert_ok(c.call('Stage', '', 'root=/dev/vda1 ro', True), NEWEST)
        self.assertEqual(self.get('StagedCmdline'), 'root=/dev/vda1 ro')
        self.assert_ok(c.call('Reboot', True))
        self.wait_for_log(f'simulated reboot: would reboot into {NEWEST}')
        self.assert_ok(c.call('Unstage', True))
        self.assertEqual(self.get_all(), NOTHING_STAGED)

        calls = self.polkit_calls()
        self.assertEqual([(a, f) for _k, _d, a, f in calls],
                         [(A_STAGE, 1), (A_CUSTOM, 1), (A_REBOOT, 1), (A_UNSTAGE, 1)])
        self.assert_subjects(calls, c)

    def test_root_needs_no_polkit(self):
        '''uid 0 callers are allowed without asking polkit'''
        self.require_root()
        self.set_policy()  # polkit would deny everything
        self.assertEqual(self.manager.StageNewest(False), NEWEST)
        self.assertEqual(self.manager.Stage(OLDEST, 'root=/dev/vda1 ro', False), OLDEST)
        self.assertEqual(self.get('StagedCmdline'), 'root=/dev/vda1 ro')
        self.manager.Reboot(False)
        self.wait_for_log(f'simulated reboot: would reboot into {OLDEST}')
        self.manager.Unstage(False)
        self.assertEqual(self.manager.Rescan(False), '')
        self.assertEqual(self.get_all(), NOTHING_STAGED)
        self.assertEqual(self.polkit_calls(), [], 'kexecd asked polkit about a root caller')

    def test_hanging_polkit_does_not_block(self):
        '''a check waiting for a password stalls nobody else'''
        self.set_policy(allowed=ALL_ACTIONS, hanging=[A_CUSTOM])
        waiting = self.client()
        waiting.send('Stage', OLDEST, 'root=/dev/vda1 ro', True, timeout=120)
        self.wait_until(lambda: self.polkit.HangingCallCount() == 1, 10,
                        'the Stage call to reach polkit')

        other = self.client()
        for call in (lambda: other.call('ListKernels', timeout=5),
                     lambda: other.get_all(),
                     lambda: other.get('StagedVersion')):
            r = call()
            self.assertTrue(r['ok'], r)
            self.assertLess(r['elapsed'], 2.0, f'a read took {r["elapsed"]:.2f} s')
        start = time.monotonic()
        self.assertEqual(py(self.manager.ListKernels(timeout=5)), SAMPLE_KERNELS)
        self.assertEqual(self.get('StagedVersion'), '')
        self.assertLess(time.monotonic() - start, 2.0)

        # Another state change goes through while the first still waits.
        r = other.call('StageNewest', False, timeout=10)
        self.assert_ok(r, NEWEST)
        self.assertLess(r['elapsed'], 5.0)
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        self.assertTrue(waiting.running())
        self.assertEqual(self.polkit.HangingCallCount(), 1)

        self.assertEqual(self.polkit.ReleaseHangingCalls(), 1)
        self.assert_ok(waiting.receive(30), OLDEST)
        self.assertEqual(self.get('StagedVersion'), OLDEST)
        self.assertEqual(self.get('StagedCmdline'), 'root=/dev/vda1 ro')

    def test_caller_gone_while_polkit_hangs(self):
        '''the caller disconnects during its check: the daemon carries on'''
        self.set_policy(allowed=ALL_ACTIONS, hanging=[A_STAGE])
        gone = self.client()
        gone.send('StageNewest', True, timeout=120)
        self.wait_until(lambda: self.polkit.HangingCallCount() == 1, 10,
                        'the call to reach polkit')
        gone.proc.kill()
        gone.proc.wait()
        self.wait_until(lambda: not self.bus.name_has_owner(gone.unique_name), 5,
                        'the caller to leave the bus')
        # kexecd cancels the check (test_hardening.py has the details).
        self.wait_until(lambda: self.polkit.HangingCallCount() == 0, 10,
                        'the check of the caller that left to be cancelled')
        self.set_policy(allowed=ALL_ACTIONS)
        self.assertEqual(self.polkit.ReleaseHangingCalls(), 0)
        self.pump(0.5)
        self.assert_alive()
        c = self.client()
        self.assert_ok(c.call('Stage', OLDEST, '', False), OLDEST)

    def test_stop_while_polkit_hangs(self):
        '''SIGTERM with a call waiting on polkit: kexecd still exits, promptly'''
        self.set_policy(allowed=ALL_ACTIONS, hanging=[A_STAGE])
        waiting = self.client()
        waiting.send('StageNewest', True, timeout=120)
        self.wait_until(lambda: self.polkit.HangingCallCount() == 1, 10,
                        'the call to reach polkit')
        start = time.monotonic()
        rc = self.stop_daemon()
        took = time.monotonic() - start
        self.assertEqual(rc, 0)
        self.assertLess(took, 10, f'kexecd took {took:.1f} s to stop')
        self.assertIn('still waiting on polkit', self.log())
        self.assertEqual(self.get_all_or_none(), None)
        # Nothing was staged behind the caller's back: a restart shows it.
        self.polkit.ReleaseHangingCalls()
        self.start_daemon()
        self.assertEqual(self.get_all(), NOTHING_STAGED)

    def test_flood_of_waiting_calls_is_bounded(self):
        '''calls waiting on polkit are bounded; the rest get Busy, reads still work'''
        self.set_policy(allowed=ALL_ACTIONS, hanging=[A_STAGE])
        flood = self.client()
        sent = 64
        flood.send('StageNewest', True, send_only=sent)
        self.assert_ok(flood.receive(30))

        # Wait until the count of hanging checks stops growing.
        counts = []

        def settled():
            counts.append(int(self.polkit.HangingCallCount()))
            return len(counts) > 10 and counts[-1] > 0 and counts[-1] == counts[-10]
        self.wait_until(settled, 20, 'the hanging polkit checks to settle')
        hanging = counts[-1]
        self.assertLess(hanging, sent, 'every call got a worker: nothing bounds them')

        c = self.client()
        self.assert_error(c.call('StageNewest', False, timeout=10), E_BUSY)
        self.assert_ok(c.call('ListKernels', timeout=5), SAMPLE_KERNELS)
        self.assert_ok(c.get('StagedVersion'), '')

        self.set_policy(allowed=ALL_ACTIONS)  # no more hanging
        self.assertEqual(self.polkit.ReleaseHangingCalls(), hanging)
        self.wait_until(lambda: self.get('StagedVersion') == NEWEST, 20, 'the released stages')

        def accepted():
            r = c.call('Stage', OLDEST, '', False, timeout=10)
            if not r['ok'] and r['error'] == E_BUSY:
                return False
            return self.assert_ok(r, OLDEST)
        self.wait_until(accepted, 20, 'the daemon to take calls again')
        self.assert_alive()

    def test_bad_input(self):
        '''invalid arguments get named errors and leave the daemon answering'''
        self.set_policy(allowed=ALL_ACTIONS)
        c = self.client()
        cases = [
            (('Stage', '../../../etc/passwd', '', False), E_INVALID, None),
            (('Stage', f'{NEWEST}/../../../../etc', '', False), E_INVALID, None),
            (('Stage', '/boot/vmlinuz-' + NEWEST, '', False), E_INVALID, None),
            (('Stage', 'x' * 100_000, '', False), E_INVALID, 'longer'),
            (('Stage', '', 'a' * 10_240, False), E_INVALID, 'bytes'),
            (('Stage', NEWEST, 'quiet\ninit=/bin/sh', False), E_INVALID, 'control character'),
            (('Stage', NEWEST, 'root="/dev/vda1', False), E_INVALID, 'quote'),
            (('Stage', '9.9.9-amd64', '', False), E_NOT_FOUND, '9.9.9-amd64'),
            (('Stage', '6.1.0-13-amd64.dpkg-tmp', '', False), E_NOT_FOUND, None),
            (('Stage', NO_MODULES, '', False), E_NOT_BOOTABLE, 'no modules directory'),
            (('Stage', NO_INITRD, '', False), E_NOT_BOOTABLE, 'no initrd'),
        ]
        for call, error, text in cases:
            with self.subTest(call=str(call)[:80]):
                r = c.call(*call)
                self.assert_error(r, error, text)
                self.assertLess(len(r['message']), 1024, 'the error echoes the whole input')
                self.assert_alive()
        self.assertEqual(self.get_all(), NOTHING_STAGED)

    def test_nothing_staged(self):
        '''Unstage and Reboot with nothing staged'''
        self.set_policy(allowed=ALL_ACTIONS)
        c = self.client()
        self.assert_error(c.call('Unstage', False), E_NOT_STAGED)
        self.assert_error(c.call('Reboot', False), E_NOT_STAGED, 'nothing is staged')
        self.assertNotIn('simulated reboot', self.log())
        self.assertEqual(self.get_all(), NOTHING_STAGED)
        self.assert_alive()

    def test_new_kernel_without_autostage(self):
        '''AutoStage=no: a new kernel shows up in NewestVersion, nothing is staged'''
        self.pump(0.2)
        self.signals.clear()
        self.install_kernel(NEW_KERNEL)
        self.wait_for_signal(NewestVersion=NEW_KERNEL)
        self.pump(1.0)
        self.assertEqual(self.get_all(), dict(NOTHING_STAGED, NewestVersion=NEW_KERNEL))
        self.assertEqual(py(self.manager.ListKernels())[0],
                         [NEW_KERNEL, f'/boot/vmlinuz-{NEW_KERNEL}',
                          [f'/boot/initrd.img-{NEW_KERNEL}'], True, ''])
        for _iface, changed, _inv in self.signals:
            self.assertNotIn('StagedVersion', changed)

    def test_second_instance(self):
        '''a second kexecd cannot take the name and leaves the first alone'''
        before = self.get_all()
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        second = subprocess.run([KEXECD, '--root', self.root, '--config', self.config,
                                 '--simulate'], stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, env=env, timeout=30)
        self.assertNotEqual(second.returncode, 0, second.stderr)
        self.assertIn('D-Bus', second.stderr)
        self.assert_alive()
        self.assertEqual(self.get_all(), before)

    def test_bad_config(self):
        '''kexecd refuses a bad configuration (EX_CONFIG) without taking the name'''
        self.assertEqual(self.stop_daemon(), 0)
        bad = os.path.join(self.workdir, 'bad.conf')
        with open(bad, 'w', encoding='utf-8') as f:
            f.write('[Stage]\nSettleDelaySec=soon\n')
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        p = subprocess.run([KEXECD, '--root', self.root, '--config', bad, '--simulate'],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                           timeout=30)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn('SettleDelaySec=soon', p.stderr)
        self.assertFalse(self.bus.name_has_owner(BUS_NAME))

    def test_state_survives_restart(self):
        '''kill -9 and start again: the same kernel is staged'''
        self.admin('Stage', OLDEST, 'root=/dev/vda1 ro', False)
        before = self.get_all()
        self.assertEqual(before['StagedVersion'], OLDEST)
        self.restart_daemon_hard()
        self.assertEqual(self.get_all(), before)
        self.assertIn(f'staged before restart: {OLDEST}', self.log())

        self.admin('Unstage', False)
        self.restart_daemon_hard()
        self.assertEqual(self.get_all(), NOTHING_STAGED)


class PolkitAbsentTest(KexecdTestCase):
    '''No polkitd on the bus.'''

    START_POLKIT = False

    def test_unprivileged_denied(self):
        c = self.client()
        for call in (('StageNewest', False), ('StageNewest', True), ('Stage', OLDEST, '', True),
                     ('Stage', '', 'quiet', False), ('Unstage', False), ('Reboot', True),
                     ('Rescan', False)):
            with self.subTest(call=call):
                r = c.call(*call)
                self.assert_error(r, ACCESS_DENIED)
                self.assertIn('polkit', r['message'].lower())
        self.assertEqual(self.get_all(), NOTHING_STAGED)
        # Reads need no polkit.
        self.assert_ok(c.call('ListKernels'), SAMPLE_KERNELS)

        p = self.kexecctl('stage')
        self.assert_exit(p, 4)
        self.assertIn('polkit', p.stderr)
        self.assert_alive()

    def test_root_allowed(self):
        self.require_root()
        self.assertEqual(self.manager.StageNewest(False), NEWEST)
        self.manager.Unstage(False)
        p = self.kexecctl('stage', OLDEST, unprivileged=False)
        self.assert_exit(p, 0)
        self.assertEqual(self.get('StagedVersion'), OLDEST)

if __name__ == '__main__':
    main()
