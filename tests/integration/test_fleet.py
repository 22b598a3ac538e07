#!/usr/bin/python3
'''[Fleet]: rolling reboots coordinated through a real etcd (Debian's
etcd-server) and through a FleetLock protocol double, with several kexecd
--simulate nodes (fleet_nodes.py). Needs root (kexecd owns org.kexecd1 by
the shipped bus policy, which grants it to root), /usr/bin/etcd and
/usr/bin/openssl: without them it FAILS, it never skips.'''

import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

import dbus

from common import NEWEST
from fleet_nodes import ETCD, OPENSSL, Etcd, FleetLockDouble, Node, make_certs, wait_until
from harness import TapResult

KEY = 'com.coreos.airlock/groups/{}/v1/semaphore'


class FleetTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=f'kexecd-fleet-{self._testMethodName[:30]}-')
        self.nodes = []
        self.etcd = None
        self.double = None

    def tearDown(self):
        failed = any(t is self for t, _ in self._outcome.result.failures +
                     self._outcome.result.errors) if hasattr(self, '_outcome') else True
        for n in self.nodes:
            if failed or getattr(self, 'show_logs', False):
                sys.stderr.write(f'\n----- {n.name} -----\n{n.log()}\n')
            n.close()
        if self.etcd:
            self.etcd.stop()
            if failed and os.path.exists(self.etcd.log_path):
                with open(self.etcd.log_path, encoding='utf-8', errors='replace') as f:
                    sys.stderr.write(f'\n----- etcd -----\n{f.read()[-4000:]}\n')
        if self.double:
            self.double.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_etcd(self, certs=None):
        self.etcd = Etcd(self.tmp, certs)
        self.etcd.start()
        return self.etcd

    def add_nodes(self, count, conf, prefix='node'):
        for i in range(count):
            n = Node(self.tmp, f'{prefix}{i}', conf)
            self.nodes.append(n)
            n.start()
        wait_until(lambda: all(n.status()['staged_version'] == NEWEST for n in self.nodes[-count:]),
                   20, 'AutoStage on every node')
        return self.nodes[-count:]

    def etcd_conf(self, slots, group='default', extra=''):
        return (f'Coordinator=etcd\nEndpoints={self.etcd.url}\nGroup={group}\n'
                f'Slots={slots}\n{extra}')

    def holders(self, group='default'):
        v, _, _ = self.etcd.get(KEY.format(group))
        return None if v is None else json.loads(v)['holders'] or []

    def rollout(self, nodes, before_boot=None, timeout=120):
        '''All nodes `kexecctl reboot` at once; each reboot is followed by a
        boot into the staged kernel, unless before_boot(node) says False.
        Returns the nodes booted, in order.'''
        procs = {n.name: n.popen_kexecctl('reboot') for n in nodes}
        pending = list(nodes)
        order = []
        deadline = time.monotonic() + timeout
        while pending:
            self.assertLess(time.monotonic(), deadline,
                            f'rollout stuck; waiting: {[n.name for n in pending]}')
            for n in list(pending):
                p = procs[n.name]
                if n.rebooted():
                    out, err = p.communicate(timeout=20)
                    self.assertEqual(p.returncode, 0, f'{n.name}: {out} {err}')
                    pending.remove(n)
                    if before_boot and before_boot(n) is False:
                        continue
                    self.assertEqual(n.boot_staged(), NEWEST)
                    order.append(n)
                elif p.poll() is not None:
                    self.fail(f'{n.name}: kexecctl reboot exited {p.returncode} without a '
                              f'reboot: {p.stdout.read()} {p.stderr.read()}')
            time.sleep(0.05)
        return order

    def assert_booted_new(self, nodes):
        for n in nodes:
            self.assertEqual(n.status()['running_version'], NEWEST, n.name)
            p = n.kexecctl('reboot', '--if-needed')
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('No reboot needed', p.stdout)

    def assert_never_more_than(self, slots, group='default'):
        history = [json.loads(v) for v in self.etcd.history(KEY.format(group))]
        self.assertTrue(history)
        for v in history:
            self.assertLessEqual(len(v['holders'] or []), slots, history)
            self.assertEqual(v['total_slots'], slots)
        return history

    # --- etcd -------------------------------------------------------------

    def test_five_nodes_two_slots(self):
        '''5 nodes, Slots=2, all at once: never more than 2 holders, all
        reboot, all slots free at the end'''
        self.start_etcd()
        nodes = self.add_nodes(5, self.etcd_conf(2))
        booted = self.rollout(nodes)
        self.assertEqual(len(booted), 5)
        wait_until(lambda: self.holders() == [], 30, 'every slot released')
        history = self.assert_never_more_than(2)
        # Two at once did happen: the slots were used, not serialised.
        self.assertTrue(any(len(v['holders'] or []) == 2 for v in history), history)
        self.assert_booted_new(nodes)
        fs = nodes[0].fleet_status()
        self.assertEqual((fs['coordinator'], fs['group'], fs['total_slots'], fs['holders']),
                         ('etcd', 'default', 2, []))
        self.assertIn('libcurl', nodes[0].maps())

    def test_killed_holder_keeps_its_slot(self):
        '''a node SIGKILLed while holding its slot keeps it; fleet release
        frees it and the rollout finishes'''
        self.start_etcd()
        nodes = self.add_nodes(3, self.etcd_conf(1))
        # The first to reboot dies; the others wait for its slot.
        procs = {n.name: n.popen_kexecctl('reboot') for n in nodes}
        wait_until(lambda: any(n.rebooted() for n in nodes), 30, 'a first reboot')
        first = next(n for n in nodes if n.rebooted())
        procs[first.name].communicate(timeout=20)
        first.stop(signal.SIGKILL)  # never comes back
        rest = [n for n in nodes if n is not first]
        wait_until(lambda: all('waiting for a reboot slot in group default: 1/1 held by '
                               + first.name in n.status()['fleet_state'] for n in rest),
                   20, 'the others to wait for the dead node')
        time.sleep(2)
        self.assertFalse(any(n.rebooted() for n in rest))
        self.assertEqual(self.holders(), [first.name])
        status = rest[0].kexecctl('status')
        self.assertIn('Fleet: waiting for a reboot slot in group default: 1/1 held by '
                      + first.name, ' '.join(status.stdout.split()))
        self.assertIn('Slots: 1/1 held by ' + first.name, ' '.join(status.stdout.split()))
        p = rest[0].kexecctl('fleet', 'release', first.name)
        self.assertEqual(p.returncode, 0, p.stderr)
        # The waiting kexecctl calls go on by themselves.
        pending = list(rest)
        deadline = time.monotonic() + 90
        while pending:
            self.assertLess(time.monotonic(), deadline, 'rollout did not finish')
            for n in list(pending):
                if n.rebooted():
                    out, err = procs[n.name].communicate(timeout=20)
                    self.assertEqual(procs[n.name].returncode, 0, err)
                    n.boot_staged()
                    pending.remove(n)
            time.sleep(0.05)
        wait_until(lambda: self.holders() == [], 30, 'every slot released')
        self.assert_never_more_than(1)
        self.assert_booted_new(rest)
        p = rest[0].kexecctl('fleet', 'release', first.name)
        self.assertEqual(p.returncode, 3, 'releasing a slot no one holds is "not found"')

    def test_etcd_restarted_mid_rollout(self):
        '''etcd stopped and restarted mid-rollout: nothing lost or held twice'''
        self.start_etcd()
        nodes = self.add_nodes(3, self.etcd_conf(1))
        restarted = []

        def restart_etcd_once(n):
            if not restarted:
                restarted.append(n)
                # The others have asked once and wait: an etcd down at their
                # first ask would fail their reboot (CoordinatorUnavailable).
                others = [o for o in nodes if o is not n]
                wait_until(lambda: all(o.status()['fleet_state'].startswith('waiting')
                                       for o in others), 20, 'the others to wait')
                self.etcd.stop()
                # The node boots while etcd is down: it cannot release yet.
                n.boot_staged()
                time.sleep(2)
                self.assertEqual(n.status()['fleet_state'].split(' (')[0],
                                 'holding a reboot slot in group default until the system is up')
                self.etcd.start()
                return False
            return True

        self.rollout(nodes, before_boot=restart_etcd_once, timeout=180)
        wait_until(lambda: self.holders() == [], 60, 'every slot released')
        self.assert_never_more_than(1)
        self.assert_booted_new(nodes)

    def test_slot_kept_until_the_system_is_up(self):
        '''after the reboot the slot is kept while systemd says starting or
        degraded (ReleaseWhenDegraded=no), released once it says running'''
        self.start_etcd()
        (n,) = self.add_nodes(1, self.etcd_conf(1))

        def boot_slowly(node):
            node.set_system_state('starting')
            node.boot_staged()
            return False

        self.rollout([n], before_boot=boot_slowly)
        for state in ('starting', 'degraded'):
            n.set_system_state(state)
            time.sleep(2.5)  # kexecd asks every second
            self.assertEqual(self.holders(), [n.name], state)
            self.assertIn(f'until the system is up (the system is {state})',
                          n.status()['fleet_state'])
        n.set_system_state('running')
        wait_until(lambda: self.holders() == [], 10, 'the slot released once running')
        self.assertTrue(n.status()['fleet_state'].startswith('idle'))

    def test_waiting_reboot_is_cancelled_by_leaving(self):
        '''a kexecctl reboot waiting for a slot, interrupted, stops waiting
        and nothing reboots'''
        self.start_etcd()
        self.etcd.put(KEY.format('default'), '{"total_slots":1,"holders":["elsewhere"]}')
        (n,) = self.add_nodes(1, self.etcd_conf(1))
        p = n.popen_kexecctl('reboot')
        wait_until(lambda: n.status()['fleet_state'].startswith(
            'waiting for a reboot slot in group default: 1/1 held by elsewhere'), 20, 'waiting')
        p.send_signal(signal.SIGINT)
        p.wait(10)
        wait_until(lambda: n.status()['fleet_state'].startswith('idle'), 20,
                   'the wait cancelled')
        self.assertIn('stops waiting for a slot', n.log())
        self.etcd.put(KEY.format('default'), '{"total_slots":1,"holders":[]}')
        time.sleep(2)
        self.assertFalse(n.rebooted())
        self.assertEqual(self.holders(), [])

    def test_unreachable_coordinator(self):
        '''an unreachable coordinator: Reboot() fails (exit 7), no reboot'''
        closed = Etcd(self.tmp).url  # ports nobody listens on
        (n,) = self.add_nodes(1, f'Coordinator=etcd\nEndpoints={closed}\n')
        p = n.kexecctl('reboot')
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertIn('not rebooting', p.stderr)
        self.assertFalse(n.rebooted())

    def test_tls_client_certificates(self):
        '''etcd with TLS and client certificates (a CA made with openssl)'''
        certs = make_certs(os.path.join(self.tmp, 'pki'))
        self.start_etcd(certs)
        tls = ('TrustedCA=/etc/kexecd/ca.pem\nClientCertificate=/etc/kexecd/client.pem\n'
               'ClientKey=/etc/kexecd/client.key\n')
        nodes = self.add_nodes(2, self.etcd_conf(1, extra=tls))
        for n in nodes:
            os.makedirs(os.path.join(n.root, 'etc/kexecd'), exist_ok=True)
            for f in ('ca.pem', 'client.pem', 'client.key'):
                shutil.copy(os.path.join(certs, f), os.path.join(n.root, 'etc/kexecd', f))
        # Without a client certificate etcd refuses the node.
        (bare,) = self.add_nodes(1, self.etcd_conf(1, extra='TrustedCA=/etc/kexecd/ca.pem\n'),
                                 prefix='nocert')
        os.makedirs(os.path.join(bare.root, 'etc/kexecd'), exist_ok=True)
        shutil.copy(os.path.join(certs, 'ca.pem'), os.path.join(bare.root, 'etc/kexecd'))
        p = bare.kexecctl('reboot')
        self.assertEqual(p.returncode, 7, p.stderr)
        self.rollout(nodes)
        wait_until(lambda: self.holders() == [], 30, 'every slot released')
        self.assert_never_more_than(1)
        self.assert_booted_new(nodes)

    def test_airlock_semaphore_is_honoured(self):
        '''a semaphore written by the test in airlock's format is honoured'''
        self.start_etcd()
        key = KEY.format('workers')
        self.etcd.put(key, '{"total_slots":1,"holders":["zincati-1"]}')
        (n,) = self.add_nodes(1, self.etcd_conf(3, group='workers'))
        p = n.kexecctl('reboot', '--no-wait')
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn('1/1 held by zincati-1', p.stderr)
        fs = n.fleet_status()
        self.assertEqual((fs['total_slots'], fs['holders'], fs['holding']), (1, ['zincati-1'], False))
        text = n.kexecctl('fleet', 'status').stdout
        self.assertIn('zincati-1', text)
        # Zincati's node comes back; airlock drops it by compare-and-swap.
        _, version, _ = self.etcd.get(key)
        self.assertTrue(self.etcd.cas(key, '{"total_slots":1,"holders":[]}', version))
        self.rollout([n])
        wait_until(lambda: self.holders('workers') == [], 30, 'the slot released')
        # The total stays airlock's, not Slots=3.
        self.assertEqual([json.loads(v)['total_slots']
                          for v in self.etcd.history(key)], [1, 1, 1, 1])
        self.assertIn(json.loads(self.etcd.history(key)[-2])['holders'], [['node0']])

    # --- FleetLock ----------------------------------------------------------

    def test_fleetlock_double(self):
        '''FleetLock protocol (against a double: no server is packaged)'''
        self.double = FleetLockDouble(slots=1)
        conf = f'Coordinator=fleetlock\nEndpoints={self.double.url}\nGroup=workers\n'
        nodes = self.add_nodes(3, conf)
        self.rollout(nodes)
        wait_until(lambda: not self.double.holders, 30, 'every slot released')
        self.assertEqual(self.double.max_holders, 1)
        paths = {r[0] for r in self.double.requests}
        self.assertEqual(paths, {'/v1/pre-reboot', '/v1/steady-state'})
        for path, headers, body in self.double.requests:
            self.assertEqual(headers.get('fleet-lock-protocol'), 'true')
            self.assertEqual(body['client_params']['group'], 'workers')
        self.assert_booted_new(nodes)
        # The server's refusal is shown, and --no-wait gives exit 6.
        self.double.holders.add('other')
        (late,) = self.add_nodes(1, conf, prefix='late')
        p = late.kexecctl('reboot', '--no-wait')
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn('failed_lock: all 1 semaphore slots currently locked', p.stderr)

    def test_without_coordinator_nothing_changes(self):
        '''no [Fleet]: reboots take no slot; the new methods answer plainly'''
        n = Node(self.tmp, 'plain0', '')
        self.nodes.append(n)
        n.start()
        wait_until(lambda: n.status()['staged_version'] == NEWEST, 20, 'AutoStage')
        mgr = dbus.Interface(n.bus.get_object('org.kexecd1', '/org/kexecd1'),
                             'org.kexecd1.Manager')
        self.assertEqual(json.loads(mgr.FleetStatus())['coordinator'], 'none')
        self.assertEqual(n.status()['fleet_state'], '')
        # libcurl is loaded for a coordinator only.
        self.assertNotIn('libcurl', n.maps())
        self.assertNotIn('Fleet', n.kexecctl('status').stdout)
        needed, reason = mgr.RebootNeeded()
        self.assertTrue(needed)
        self.assertIn(f'the staged kernel {NEWEST} is newer than the running', reason)
        for options, why in (({'bogus': True}, "unknown RebootWithOptions option 'bogus'"),
                             ({'wait': 'yes'}, "option 'wait' takes a boolean")):
            with self.assertRaises(dbus.exceptions.DBusException) as cm:
                mgr.RebootWithOptions(False, dbus.Dictionary(options, signature='sv'))
            self.assertEqual(cm.exception.get_dbus_name(), 'org.kexecd1.Error.InvalidArgument')
            self.assertIn(why, cm.exception.get_dbus_message())
        p = n.kexecctl('fleet', 'release', 'someone')
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn('no coordinator is configured', p.stderr)
        mgr.RebootWithOptions(False, dbus.Dictionary({'wait': False}, signature='sv'))
        self.assertTrue(n.rebooted())
        self.assertNotIn('reboot slot', n.log())
        # [Fleet] applies at start only; a reload says so.
        with open(n.config, 'a', encoding='utf-8') as f:
            f.write('Coordinator=fleetlock\nEndpoints=http://127.0.0.1:9\n')
        os.kill(n.daemon.pid, signal.SIGHUP)
        wait_until(lambda: '[Fleet] changed: the change applies when kexecd starts again'
                   in n.log(), 10, 'the reload warning')
        self.assertEqual(json.loads(mgr.FleetStatus())['coordinator'], 'none')

    # --- kured, the autoreboot timer ----------------------------------------

    def test_kured_reboot_command_and_if_needed(self):
        '''kured's --reboot-command "kexecctl reboot --fallback-cold": a kexec
        when a kernel is staged, a firmware reboot otherwise; --if-needed'''
        n = Node(self.tmp, 'kured0', '', auto_stage=False)
        self.nodes.append(n)
        n.start()
        # Nothing staged, nothing required: --if-needed does nothing, exit 0.
        p = n.kexecctl('reboot', '--if-needed')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('No reboot needed: nothing newer is staged', p.stdout)
        self.assertFalse(n.rebooted())
        # Nothing staged: a cold reboot (kexecd's, simulated here), never a
        # failure.
        p = n.kexecctl('reboot', '--fallback-cold')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Rebooting through the firmware', p.stdout)
        self.assertIn('simulated reboot: would reboot through the firmware now '
                      '(a cold reboot was asked for)', n.log())
        self.assertFalse(n.rebooted())
        # /run/reboot-required (Debian, Ubuntu) is a reason too.
        os.makedirs(os.path.join(n.root, 'run'), exist_ok=True)
        with open(os.path.join(n.root, 'run/reboot-required'), 'w', encoding='utf-8') as f:
            f.write('*** System restart required ***\n')
        p = n.kexecctl('reboot', '--if-needed', '--fallback-cold')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Reboot needed: /run/reboot-required exists', p.stdout)
        os.unlink(os.path.join(n.root, 'run/reboot-required'))
        # A kernel staged: the same command kexecs.
        p = n.kexecctl('stage')
        self.assertEqual(p.returncode, 0, p.stderr)
        p = n.kexecctl('reboot', '--fallback-cold')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(n.rebooted())


def main():
    missing = [p for p in (ETCD, OPENSSL) if not os.access(p, os.X_OK)]
    if os.geteuid() != 0 or missing:
        why = 'not root' if os.geteuid() != 0 else f'missing {", ".join(missing)}'
        print(f'not ok 1 - test_fleet needs root, etcd-server and openssl ({why})')
        print('1..1')
        sys.exit(1)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=TapResult)
    result = unittest.main(module='__main__', testRunner=runner, exit=False).result
    print(f'1..{TapResult.count}', flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
