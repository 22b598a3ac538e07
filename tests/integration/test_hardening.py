#!/usr/bin/python3
'''Hostile callers and faults (issue 9): per-user budgets that never lock
root out, polkit checks cancelled when their caller leaves, details shown by
polkit, a bounded log of denials, uid and pid of every state change, clean
exits (SIGTERM during work, the bus going away), SIGHUP, polkit and logind
failing, and /boot read off the bus thread. The harness is harness.py.'''

# pylint: disable=wildcard-import,unused-wildcard-import
import gzip
import json
import os
import re
import signal
import subprocess
import time

import dbus
import dbusmock

from harness import *  # noqa: F401,F403

# daemon/manager.hpp, Limits; daemon/denial_log.hpp.
CHANGES_PER_UID = 4
CHANGES_TOTAL = 32
DENIAL_LINES_PER_WINDOW = 10
DENIAL_WINDOW = 10  # s
E_FAILED = 'org.kexecd1.Error.Failed'

DENIAL_LINE = re.compile(r': (denied|refused) .* uid (\d+) pid \d+ ')
DENIAL_SUMMARY = re.compile(r'\.\.\. and (\d+) more denials from uid (\d+) in the last')


class BudgetTest(KexecdTestCase):
    '''Defect 6: what waits on polkit is bounded per user, never locks root
    out, holds no thread, and is cancelled when its caller leaves.'''

    def settled_hanging(self, timeout=20):
        '''The count of hanging polkit checks, once it stops growing.'''
        counts = []

        def settled():
            counts.append(int(self.polkit.HangingCallCount()))
            return len(counts) > 10 and counts[-1] > 0 and counts[-1] == counts[-10]
        self.wait_until(settled, timeout, 'the hanging polkit checks to settle')
        return counts[-1]

    def test_budget_is_per_uid(self):
        '''one user's waiting calls do not refuse another's; no thread each'''
        self.require_root()  # a second unprivileged user
        threads = self.proc_status('Threads')
        self.set_policy(allowed=ALL_ACTIONS, hanging=[A_STAGE])
        flood = self.client()
        flood.send('StageNewest', True, send_only=40)
        self.assert_ok(flood.receive(30))
        self.assertEqual(self.settled_hanging(), CHANGES_PER_UID)
        self.assertEqual(self.proc_status('Threads'), threads,
                         'calls waiting on polkit hold threads')

        # The same user on another connection: refused, the budget is per uid.
        same = self.client()
        self.assert_error(same.call('StageNewest', False, timeout=10), E_BUSY, 'per user')
        # Reads are counted apart.
        self.assert_ok(same.call('ListKernels', timeout=10), SAMPLE_KERNELS)
        # Another user gets through to polkit.
        other = self.client(OTHER_UID)
        other.send('Stage', OLDEST, '', True, timeout=60)
        self.wait_until(lambda: self.polkit.HangingCallCount() == CHANGES_PER_UID + 1, 10,
                        "the other user's call to reach polkit")
        self.assertEqual([c['subject'][1]['name'] for c in self.polkit_checks()].count(
            other.unique_name), 1)

        self.set_policy(allowed=ALL_ACTIONS)
        self.assertEqual(self.polkit.ReleaseHangingCalls(), CHANGES_PER_UID + 1)
        self.assert_ok(other.receive(30), OLDEST)

        def accepted():
            r = same.call('StageNewest', False, timeout=10)
            if not r['ok'] and r['error'] == E_BUSY:
                return False
            return self.assert_ok(r, NEWEST)
        self.wait_until(accepted, 20, 'the budget to come back')
        self.assert_alive()

    def test_root_is_never_locked_out(self):
        '''the unprivileged users' bound is full: root still gets through, at once'''
        self.require_root()
        self.set_policy(allowed=ALL_ACTIONS, hanging=ALL_ACTIONS)
        for uid in MORE_UIDS:
            c = self.client(uid)
            c.send('StageNewest', True, send_only=40)
            self.assert_ok(c.receive(30))
        self.assertEqual(self.settled_hanging(), CHANGES_TOTAL)
        # A user with nothing in progress is refused too: the bound is global.
        self.assert_error(self.client(OTHER_UID).call('Unstage', False, timeout=10), E_BUSY)

        start = time.monotonic()
        self.assertEqual(self.manager.Stage(OLDEST, '', False, timeout=10), OLDEST)
        self.assertEqual(self.manager.Rescan(False, timeout=10), OLDEST)
        self.manager.Reboot(False, timeout=10)
        self.wait_for_log(f'simulated reboot: would reboot into {OLDEST}')
        self.manager.Unstage(False, timeout=10)
        self.assertEqual(self.manager.StageNewest(False, timeout=10), NEWEST)
        self.assertEqual(py(self.manager.ListKernels(timeout=10)), SAMPLE_KERNELS)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(self.polkit.HangingCallCount(), CHANGES_TOTAL)

    def test_caller_that_left_is_cancelled(self):
        '''polkit is told (CancelCheckAuthorization), the user's budget comes back'''
        self.set_policy(allowed=ALL_ACTIONS, hanging=[A_STAGE])
        gone = self.client()
        gone.send('StageNewest', True, send_only=CHANGES_PER_UID)
        self.assert_ok(gone.receive(30))
        self.wait_until(lambda: self.polkit.HangingCallCount() == CHANGES_PER_UID, 10,
                        'the calls to reach polkit')
        ids = [c['cancellation_id'] for c in self.polkit_checks()]
        self.assertEqual(len(set(ids)), CHANGES_PER_UID, f'cancellation ids: {ids}')
        self.assertNotIn('', ids)

        gone.proc.kill()
        gone.proc.wait()
        self.wait_until(lambda: sorted(self.polkit.GetCancelled()) == sorted(ids), 10,
                        'the checks of the caller that left to be cancelled')
        self.assertEqual(self.polkit.HangingCallCount(), 0)
        self.wait_for_log(f'{gone.unique_name} left the bus; cancelled its '
                          f'{CHANGES_PER_UID} polkit check(s)')

        # The same user, a new connection: its budget is whole again.
        again = self.client()
        again.send('StageNewest', True, send_only=CHANGES_PER_UID)
        self.assert_ok(again.receive(30))
        self.wait_until(lambda: self.polkit.HangingCallCount() == CHANGES_PER_UID, 10,
                        'the new calls to reach polkit')
        self.assertEqual(self.get('StagedVersion'), '')
        self.assert_alive()

    def test_polkit_details(self):
        '''polkit is shown the version and the custom command line'''
        self.set_policy(allowed=ALL_ACTIONS)
        c = self.client()
        self.assert_ok(c.call('Stage', OLDEST, 'root=/dev/vda1 ro', False), OLDEST)
        self.assert_ok(c.call('StageNewest', False), NEWEST)
        self.assert_ok(c.call('Unstage', False))
        checks = self.polkit_checks()
        self.assertEqual([c['action'] for c in checks], [A_CUSTOM, A_STAGE, A_UNSTAGE])
        custom = checks[0]['details']
        self.assertEqual((custom['version'], custom['cmdline']), (OLDEST, 'root=/dev/vda1 ro'))
        if IS_ROOT:  # polkit takes polkit.* details from uid 0 callers only
            self.assertIn(OLDEST, custom['polkit.message'])
            self.assertIn('root=/dev/vda1 ro', custom['polkit.message'])
        else:
            self.assertNotIn('polkit.message', custom)
        self.assertEqual(checks[1]['details'], {'version': NEWEST})
        self.assertEqual(checks[2]['details'], {'version': NEWEST})
        self.assertEqual(len({c['cancellation_id'] for c in checks}), 3)

    def test_arguments_checked_before_polkit(self):
        '''polkit never shows a command line the kernel would not take'''
        self.set_policy()
        c = self.client()
        for cmdline in ('quiet\ninit=/bin/sh', 'quiet\x1b[2K\rroot=/dev/sda', 'x' * 1_000_000):
            with self.subTest(cmdline=cmdline[:20]):
                self.assert_error(c.call('Stage', NEWEST, cmdline, False), E_INVALID)
        self.assert_error(c.call('Stage', 'v' * 1_000_000, '', False), E_INVALID)
        self.assertEqual(self.polkit_checks(), [])
        self.assert_alive()


class LogTest(KexecdTestCase):
    '''Defect 7: denials are logged at a bounded rate, state changes with
    the caller's uid and pid.'''

    def denials(self, uid):
        '''(single denial lines, denials summed up) for `uid` in the log'''
        lines, summed = 0, 0
        for line in self.log().splitlines():
            m = DENIAL_LINE.search(line)
            if m and int(m.group(2)) == uid:
                lines += 1
            m = DENIAL_SUMMARY.search(line)
            if m and int(m.group(2)) == uid:
                summed += int(m.group(1))
        return lines, summed

    def test_denials_are_rate_limited(self):
        '''300 denied calls: a few lines, then one summary with the rest'''
        self.set_policy()
        sent = 300
        start = time.monotonic()
        out = self.flood(UNPRIV_UID, ['stage_oldest'], sent)
        self.assertEqual(out['replies'], sent)
        self.assertLessEqual(set(out['results']['stage_oldest']), {ACCESS_DENIED, E_BUSY})
        # Whatever their form: few lines about denials.
        self.pump(0.5)
        windows = int((time.monotonic() - start) // DENIAL_WINDOW) + 2
        noisy = [line for line in self.log().splitlines()
                 if re.search('denied|refused', line) and not DENIAL_SUMMARY.search(line)]
        self.assertLessEqual(len(noisy), DENIAL_LINES_PER_WINDOW * windows,
                             f'{len(noisy)} lines about denials')
        # And none lost: the rest is summed up.
        self.wait_until(lambda: sum(self.denials(UNPRIV_UID)) == sent,
                        DENIAL_WINDOW + 15, f'{sent} denials, single or summed up, in the log')
        lines, summed = self.denials(UNPRIV_UID)
        windows = int((time.monotonic() - start) // DENIAL_WINDOW) + 2
        self.assertLessEqual(lines, DENIAL_LINES_PER_WINDOW * windows, self.log())
        self.assertGreater(summed, 0)
        self.assertEqual(self.get('StagedVersion'), '')
        self.assert_alive()

    def test_state_changes_name_uid_and_pid(self):
        '''every state change, done, failed or denied, names the caller's uid and pid'''
        self.set_policy(allowed=ALL_ACTIONS)
        c = self.client()
        # uid and pid, the command where /proc shows it, and the bus name.
        who = rf'uid {c.uid} pid {c.pid} [^\n]*\({re.escape(c.unique_name)}\)'
        self.assert_ok(c.call('Stage', OLDEST, '', False), OLDEST)
        self.wait_for_log_re(rf'Stage {OLDEST} by {who}: done, {OLDEST}$')
        self.assert_ok(c.call('Unstage', False))
        self.wait_for_log_re(rf'Unstage by {who}: done$')
        self.assert_error(c.call('Unstage', False), E_NOT_STAGED)
        self.wait_for_log_re(rf'Unstage by {who} failed: nothing is staged')
        self.set_policy()
        self.assert_error(c.call('Reboot', False), ACCESS_DENIED)
        self.wait_for_log_re(rf'denied Reboot to {who}: not authorized for {A_REBOOT}')
        if IS_ROOT:
            self.manager.Rescan(False)
            self.wait_for_log(f'Rescan by uid 0 pid {os.getpid()} ')


class LifecycleTest(KexecdTestCase):
    '''Defects 10 and 11, and SIGHUP: kexecd ends cleanly, or not at all.'''

    def test_sigterm_during_a_flood_of_stages(self):
        '''SIGTERM while workers reply: exit 0, every time (ASan saw a use after free)'''
        self.require_root()  # root's calls all run; an unprivileged user's are bounded
        for attempt in range(16):
            with self.subTest(attempt=attempt):
                if self.daemon is None:
                    self.start_daemon()
                root = self.client(0)
                root.send('Stage', OLDEST, '', False, send_only=40)
                self.assert_ok(root.receive(30))
                self.wait_for_log(f'staged {OLDEST}', 10)
                rc = self.stop_daemon()
                log = self.log()
                self.assertEqual(rc, 0, log[-3000:])
                self.assertNotIn('AddressSanitizer', log)
                self.assertNotIn('runtime error:', log)
                with open(self.daemon_log, 'w', encoding='utf-8'):
                    pass  # the next attempt's log starts empty
                root.close()
                self.clients.remove(root)

    def test_sighup_reloads(self):
        '''SIGHUP (systemctl reload) reads the configuration again; a bad one
        changes nothing and ends nothing'''
        self.assertFalse(self.get('AutoStage'))
        with open(self.config, 'w', encoding='utf-8') as f:
            f.write('[Stage]\nAutoStage=yes\nSettleDelaySec=0.2\n')
        self.daemon.send_signal(signal.SIGHUP)
        self.wait_for_log('reloaded the configuration (AutoStage=yes)')
        self.wait_until(lambda: self.get('StagedVersion') == NEWEST, 10, 'AutoStage to stage')
        self.assertTrue(self.get('AutoStage'))

        with open(self.config, 'w', encoding='utf-8') as f:
            f.write('[Stage]\nAutoStage=maybe\n')
        self.daemon.send_signal(signal.SIGHUP)
        self.wait_for_log('configuration not reloaded, the old one stays in force')
        self.assertIn('AutoStage=maybe', self.log())
        self.pump(0.3)
        self.assert_alive()
        self.assertTrue(self.get('AutoStage'))
        self.assertEqual(self.get('StagedVersion'), NEWEST)
        self.assertEqual(self.stop_daemon(), 0)

    def test_bus_lost_then_activated_again(self):
        '''the bus daemon dies: kexecd exits 1 (no abort, no core); the next
        bus activates it again'''
        socket = os.path.join(self.workdir, 'lost_bus_socket')
        services = os.path.join(self.workdir, 'services')
        os.mkdir(services)
        conf = os.path.join(self.workdir, 'lost-bus.conf')
        with open(conf, 'w', encoding='utf-8') as f:
            f.write(bus_config(socket, servicedir=services))
        log_path = os.path.join(self.workdir, 'kexecd-lost-bus.log')
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f'unix:path={socket}')

        bus_pid, address = self.start_dbus(conf=conf)
        self.addCleanup(self._kill_quietly, bus_pid)
        bus = dbus.bus.BusConnection(address)
        with open(log_path, 'ab') as log:
            daemon = subprocess.Popen(
                [KEXECD, '--root', self.root, '--config', self.config, '--simulate'],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.addCleanup(self._kill_quietly, daemon.pid)
        self.wait_until(lambda: bus.name_has_owner(BUS_NAME), 15, 'kexecd on the second bus')
        bus.close()

        os.kill(bus_pid, signal.SIGKILL)
        rc = daemon.wait(15)
        with open(log_path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        self.assertEqual(rc, 1, text)
        self.assertIn('critical: lost the connection to the system bus', text)
        self.assertNotIn('terminate called', text)

        # A new bus on the same socket, with kexecd as an activatable service.
        with open(os.path.join(services, 'org.kexecd1.service'), 'w', encoding='utf-8') as f:
            f.write('[D-BUS Service]\nName=org.kexecd1\n'
                    f"Exec=/bin/sh -c 'exec env DBUS_SYSTEM_BUS_ADDRESS=unix:path={socket} "
                    f"{KEXECD} --root {self.root} --config {self.config} --simulate "
                    f">>{log_path} 2>&1'\nUser=root\n")
        os.unlink(socket)
        bus_pid, address = self.start_dbus(conf=conf)
        self.addCleanup(self._kill_quietly, bus_pid)
        bus = dbus.bus.BusConnection(address)
        obj = bus.get_object(BUS_NAME, OBJ_PATH, introspect=False)  # activates
        self.assertEqual(py(obj.ListKernels(dbus_interface=IFACE, timeout=30)), SAMPLE_KERNELS)
        pid = int(bus.call_blocking('org.freedesktop.DBus', '/org/freedesktop/DBus',
                                    'org.freedesktop.DBus', 'GetConnectionUnixProcessID', 's',
                                    [BUS_NAME]))
        self.addCleanup(self._kill_quietly, pid)
        os.kill(pid, signal.SIGTERM)
        self.wait_until(lambda: not os.path.exists(f'/proc/{pid}'), 15, 'the activated kexecd to stop')
        bus.close()
        with open(log_path, encoding='utf-8', errors='replace') as f:
            self.assertEqual(f.read().count('serving org.kexecd1'), 2)

    @staticmethod
    def _kill_quietly(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class PolkitFaultTest(KexecdTestCase):
    '''polkit goes away in the middle of a check.'''

    def test_polkit_restarts_mid_check(self):
        self.set_policy(allowed=ALL_ACTIONS, hanging=[A_STAGE])
        c = self.client()
        c.send('StageNewest', True, timeout=60)
        self.wait_until(lambda: self.polkit.HangingCallCount() == 1, 10, 'the check')
        self.stop_polkit()
        r = c.receive(30)
        self.assert_error(r, ACCESS_DENIED, 'polkit')
        self.assertLess(r['elapsed'], 20)
        self.assertEqual(self.get('StagedVersion'), '')
        self.start_polkit()
        self.set_policy(allowed=ALL_ACTIONS)
        self.assert_ok(c.call('StageNewest', False), NEWEST)
        self.assert_alive()


class LogindFaultTest(KexecdTestCase):
    '''Reboot through logind (--simulate-with-logind: staging simulated, the
    reboot asked of a logind mock on the private bus).'''

    DAEMON_ARGS = ('--simulate-with-logind',)

    def test_logind_absent_at_reboot(self):
        '''a clear error, and the kernel stays staged'''
        self.admin('Stage', OLDEST, '', False)
        before = self.get_all()
        self.set_policy(allowed=ALL_ACTIONS)
        c = self.client()
        r = c.call('Reboot', False)
        self.assert_error(r, E_FAILED, 'logind (org.freedesktop.login1) is not running')
        self.assertIn(f'{OLDEST} stays staged', r['message'])
        self.assertEqual(self.get_all(), before)
        self.assertNotIn('rebooting into', self.log())

        # With logind there, the same call reaches it, with the kexec flag.
        mock = self.start_logind()
        self.assert_ok(c.call('Reboot', False))
        calls = mock.GetMethodCalls('RebootWithFlags')
        self.assertEqual([[int(a) for a in args] for _t, args in calls], [[3]])
        self.wait_for_log(f'rebooting into {OLDEST} (kexec, through logind)')
        self.assertEqual(self.get_all(), before)

    def start_logind(self):
        '''A logind mock whose RebootWithFlags records its calls.'''
        logind = self.spawn_server(LOGIND_NAME, '/org/freedesktop/login1',
                                   'org.freedesktop.login1.Manager', system_bus=True,
                                   stdout=subprocess.DEVNULL)
        self.addCleanup(logind.wait)
        self.addCleanup(logind.terminate)
        mock = dbus.Interface(self.bus.get_object(LOGIND_NAME, '/org/freedesktop/login1'),
                              dbusmock.MOCK_IFACE)
        mock.AddMethod('org.freedesktop.login1.Manager', 'RebootWithFlags', 't', '', '')
        return mock

    def test_cold_reboot_asks_logind_before_unstaging(self):
        '''RebootWithFlags(cold): a refused reboot keeps the staged kernel; an
        accepted one unloads it, so the reboot goes through the firmware'''
        self.admin('Stage', OLDEST, '', False)
        before = self.get_all()
        self.set_policy(allowed=[A_REBOOT])
        c = self.client()
        r = c.call('RebootWithFlags', False, 1)
        self.assert_error(r, E_FAILED, 'logind (org.freedesktop.login1) is not running')
        self.assertEqual(self.get_all(), before)

        mock = self.start_logind()
        self.assert_ok(c.call('RebootWithFlags', False, 1))
        # Inhibitors checked, no kexec flag: a firmware reboot.
        calls = mock.GetMethodCalls('RebootWithFlags')
        self.assertEqual([[int(a) for a in args] for _t, args in calls], [[1]])
        self.assertEqual(self.get('StagedVersion'), '')
        self.assertFalse(self.get('Loaded'))
        self.wait_for_log(f'rebooting through the firmware (cold reboot, unloaded {OLDEST})')

    def test_ignore_inhibitors_needs_its_own_action(self):
        '''-i: a separate polkit action, and logind is told not to check'''
        self.admin('Stage', OLDEST, '', False)
        mock = self.start_logind()
        self.set_policy(allowed=[A_REBOOT])
        c = self.client()
        r = c.call('RebootWithFlags', False, 2)
        self.assert_error(r, ACCESS_DENIED, A_REBOOT_IGNORE_INHIBIT)
        self.assert_error(c.call('RebootWithFlags', False, 4), E_INVALID, 'unknown')
        self.assertEqual(mock.GetMethodCalls('RebootWithFlags'), [])

        self.set_policy(allowed=[A_REBOOT, A_REBOOT_IGNORE_INHIBIT])
        self.assert_ok(c.call('RebootWithFlags', False, 2))
        self.assert_ok(c.call('RebootWithFlags', False, 3))
        calls = mock.GetMethodCalls('RebootWithFlags')
        # kexec without the inhibitor check (2), then a cold one likewise (0).
        self.assertEqual([[int(a) for a in args] for _t, args in calls], [[2], [0]])
        # kexecctl passes its options through as these flags.
        mock.ClearCalls()
        p = self.kexecctl('reboot', '--cold', '--ignore-inhibitors')
        self.assert_exit(p, 0)
        self.assertEqual(p.stdout, 'Rebooting through the firmware.\n')
        calls = mock.GetMethodCalls('RebootWithFlags')
        self.assertEqual([[int(a) for a in args] for _t, args in calls], [[0]])

    def test_refused_without_a_private_bus(self):
        '''--simulate-with-logind will not start unless the bus is a private one'''
        for address in ('unix:path=/nonexistent/system_bus_socket', 'tcp:host=127.0.0.1,port=9'):
            with self.subTest(address=address):
                env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
                p = subprocess.run([KEXECD, '--root', self.root, '--simulate-with-logind'],
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   env=env, timeout=30)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn('private test bus', p.stderr)


class TextTest(KexecdTestCase):
    '''What reaches D-Bus is UTF-8, whatever the files say: one odd string
    must not make a reply fail for every caller.'''

    def test_non_utf8_from_files(self):
        self.assertEqual(self.stop_daemon(), 0)
        with open(os.path.join(self.root, 'proc/sys/kernel/osrelease'), 'wb') as f:
            f.write(RUNNING.encode() + b'-caf\xe9\n')
        with open(os.path.join(self.root.encode(), b'boot', b'vmlinuz-7.0.0-caf\xe9'), 'wb') as f:
            f.write(bz_image('7.0.0-caf'))
        self.start_daemon()
        c = self.client()
        status = self.assert_ok(c.get_all())
        self.assertEqual(status['RunningVersion'], RUNNING + '-caf\\xe9')
        self.assert_ok(c.get('RunningVersion'), RUNNING + '-caf\\xe9')
        kernels = self.assert_ok(c.call('ListKernels'))
        self.assertTrue(any('caf' in k[1] for k in kernels), kernels)
        for k in kernels:
            self.assertNotIn('\ufffd', json.dumps(k, ensure_ascii=False))


class BusThreadTest(KexecdTestCase):
    '''Defect 16: ListKernels reads /boot on a worker, not on the bus thread.'''

    # No rescan on the new files: the first ListKernels is the one that reads them.
    CONFIG = '[Stage]\nAutoStage=no\nSettleDelaySec=600\n'

    def install_slow_images(self, count, megabytes=192):
        '''gzip "kernels" of zeros: no banner, so each is inflated in full'''
        path = os.path.join(self.workdir, 'zeros.gz')
        with gzip.open(path, 'wb', compresslevel=9) as f:
            chunk = bytes(1 << 20)
            for _ in range(megabytes):
                f.write(chunk)
        with open(path, 'rb') as f:
            data = f.read()
        for i in range(count):
            with open(os.path.join(self.root, 'boot', f'vmlinuz-7.{i}.0-slow'), 'wb') as f:
                f.write(data)

    def test_list_kernels_off_the_bus_thread(self):
        '''a slow ListKernels leaves the properties answering at once'''
        self.install_slow_images(8)
        lister, prober = self.client(), self.client()
        lister.send('ListKernels', timeout=120)
        start = time.monotonic()
        worst = 0.0
        while not lister.ready():
            r = prober.get('StagedVersion')
            self.assert_ok(r, '')
            worst = max(worst, r['elapsed'])
            self.assertLess(time.monotonic() - start, 120)
        took = time.monotonic() - start
        kernels = self.assert_ok(lister.receive(5))
        self.assertEqual(len([k for k in kernels if k[1].endswith('-slow')]), 8)
        self.assertGreater(took, 1.0, 'ListKernels was too quick for this test to tell '
                                      'anything; make the images slower to read')
        self.assertLess(worst, max(0.5, took / 4),
                        f'a property read waited {worst:.2f} s behind a ListKernels of '
                        f'{took:.2f} s')


if __name__ == '__main__':
    main()
