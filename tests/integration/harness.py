'''The harness of the D-Bus integration tests for kexecd and kexecctl
(test_*.py next to this file, one meson test each).

Every test class runs its own system bus (a dbus-daemon with a config file
written into a temporary directory, its socket reachable by any user; it
enforces the system bus's default policy and the shipped dbus/org.kexecd1.conf),
and every test starts, on that bus:
  - a polkitd mock (python-dbusmock with the polkitd_kexecd.py template next
    to this file) that allows, challenges, hangs or denies actions and records
    what it was asked;
  - kexecd --simulate --root <fresh sample tree> --config <test config>.

The daemon lets uid 0 callers in without asking polkit, so every test of
the authorization runs its client as an unprivileged user: nobody (65534)
through setpriv when the tests run as root, or the invoking user when they do
not. The few tests that need a root caller are skipped, loudly, without root.

Run with Debian's /usr/bin/python3 (python3-dbus, python3-dbusmock,
python3-gi), with KEXECD, KEXECCTL and KEXECD_SAMPLE_ROOT naming the built
programs; "meson test --suite integration" does that.

Nothing here can load a kernel: kexecd always runs with --simulate, and
every process gets DBUS_SYSTEM_BUS_ADDRESS of the private bus.
'''

# pylint: disable=wildcard-import,unused-wildcard-import
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import dbus
import dbus.mainloop.glib
import dbusmock
from gi.repository import GLib

# Re-exported: the tests take everything from here.
from clients import *  # noqa: F401,F403
from common import *  # noqa: F401,F403

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)


class KexecdTestCase(dbusmock.DBusTestCase):
    '''A private system bus for the class; polkitd mock and kexecd for each test.'''

    CONFIG = '[Stage]\nAutoStage=no\nSettleDelaySec=0.2\n'
    # None: no --config, kexecd reads the system's files under --root.
    # ROOT_FILES: {path under the root: text, or ('symlink', target)}.
    ROOT_FILES = {}
    START_POLKIT = True

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=f'kexecd-{cls.__name__}-')
        os.chmod(cls.tmp, 0o755)  # the socket and kexecctl, for the unprivileged user
        socket = os.path.join(cls.tmp, 'system_bus_socket')
        conf = os.path.join(cls.tmp, 'system-bus.conf')
        with open(conf, 'w', encoding='utf-8') as f:
            f.write(bus_config(socket))
        cls.bus_pid, cls.bus_address = cls.start_dbus(conf=conf)
        if not cls.bus_address.startswith(f'unix:path={socket}'):
            cls.stop_dbus(cls.bus_pid)
            raise AssertionError(f'private bus listens on {cls.bus_address}, not {socket}')
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = cls.bus_address
        os.environ.pop('JOURNAL_STREAM', None)
        # A copy the unprivileged user can run wherever the build tree is.
        cls.kexecctl_path = os.path.join(cls.tmp, 'kexecctl')
        shutil.copy2(KEXECCTL, cls.kexecctl_path)
        os.chmod(cls.kexecctl_path, 0o755)

    @classmethod
    def tearDownClass(cls):
        cls.stop_dbus(cls.bus_pid)
        os.environ.pop('DBUS_SYSTEM_BUS_ADDRESS', None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix=self._testMethodName[:40] + '-', dir=self.tmp)
        os.chmod(self.workdir, 0o755)
        self.root = os.path.join(self.workdir, 'root')
        subprocess.run([SAMPLE_ROOT, self.root], check=True)
        for path, content in self.ROOT_FILES.items():
            self.put(path, content)
        self.config = os.path.join(self.workdir, 'kexecd.conf')
        if self.CONFIG is not None:
            with open(self.config, 'w', encoding='utf-8') as f:
                f.write(self.CONFIG)
        self.daemon_log = os.path.join(self.workdir, 'kexecd.log')
        self.polkit_log = os.path.join(self.workdir, 'polkitd.log')
        self.daemon = None
        self.polkitd = None
        self.polkit = None
        self.policy = {'allowed': [], 'challenge': [], 'hanging': []}
        self.clients = []
        self.signals = []
        self.bus = dbus.bus.BusConnection(self.bus_address)
        self.bus.add_signal_receiver(self._on_properties_changed, signal_name='PropertiesChanged',
                                     dbus_interface=dbus.PROPERTIES_IFACE, path=OBJ_PATH)
        if self.START_POLKIT:
            self.start_polkit()
        self.start_daemon()

    def tearDown(self):
        failed = self._test_failed()
        problems = []
        if self.polkitd and self.polkitd.poll() is None:
            try:
                self.polkit.ReleaseHangingCalls()
            except dbus.exceptions.DBusException as e:
                problems.append(f'cannot release hanging polkit calls: {e}')
        for c in self.clients:
            c.close()
        if self.daemon is not None:
            died = self.daemon.poll()
            rc = self.stop_daemon()
            if died is not None:
                problems.append(f'kexecd died during the test (exit status {died})')
            elif rc != 0:
                problems.append(f'kexecd exited with status {rc} on SIGTERM')
        self.stop_polkit()
        self.bus.close()
        if failed or problems:
            self.print_logs()
        if problems:
            self.fail('; '.join(problems))

    def _test_failed(self):
        '''Whether this test (or one of its subtests) has failed so far.'''
        result = getattr(getattr(self, '_outcome', None), 'result', None)
        if result is None:
            return True  # cannot tell: show the logs
        for test, _ in list(getattr(result, 'failures', [])) + list(getattr(result, 'errors', [])):
            if getattr(test, 'test_case', test) is self:
                return True
        return False

    def print_logs(self):
        for name, path in (('kexecd', self.daemon_log), ('polkitd mock', self.polkit_log)):
            if os.path.exists(path):
                with open(path, encoding='utf-8', errors='replace') as f:
                    sys.stderr.write(f'\n----- {name} log ({self.id()}) -----\n{f.read()}'
                                     f'----- end of {name} log -----\n')
        for c in self.clients:
            with open(c.stderr_path, encoding='utf-8', errors='replace') as f:
                text = f.read()
            if text:
                sys.stderr.write(f'\n----- client {c.unique_name} stderr -----\n{text}\n')

    # --- processes -------------------------------------------------------

    def start_polkit(self):
        with open(self.polkit_log, 'ab') as log:
            self.polkitd, obj = self.spawn_server_template(POLKIT_TEMPLATE, {}, stdout=log,
                                                           system_bus=True)
        self.polkit = dbus.Interface(obj, dbusmock.MOCK_IFACE)

    def stop_polkit(self):
        if self.polkitd is None:
            return
        self.polkitd.terminate()
        try:
            self.polkitd.wait(10)
        except subprocess.TimeoutExpired:
            self.polkitd.kill()
            self.polkitd.wait()
        self.polkitd = None
        self.polkit = None
        self.wait_for_name_gone(POLKIT_NAME)

    DAEMON_ARGS = ('--simulate',)
    DAEMON_ENV = {}

    def start_daemon(self):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address, **self.DAEMON_ENV)
        env.pop('JOURNAL_STREAM', None)
        with open(self.daemon_log, 'ab') as log:
            log.write(f'===== kexecd started at {time.strftime("%T")} =====\n'.encode())
            log.flush()
            self.daemon = subprocess.Popen(
                [KEXECD, '--root', self.root,
                 *(['--config', self.config] if self.CONFIG is not None else []),
                 *self.DAEMON_ARGS, '--debug'],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 15
        while not self.bus.name_has_owner(BUS_NAME):
            rc = self.daemon.poll()
            if rc is not None:
                self.daemon = None
                self.fail(f'kexecd exited with status {rc} before it took {BUS_NAME}')
            if time.monotonic() > deadline:
                self.fail(f'kexecd did not take {BUS_NAME} within 15 s')
            time.sleep(0.05)
        obj = self.bus.get_object(BUS_NAME, OBJ_PATH, introspect=False)
        self.manager = dbus.Interface(obj, IFACE)
        self.props = dbus.Interface(obj, dbus.PROPERTIES_IFACE)
        # Signals of the start itself arrive before this reply; drop them.
        self.get_all()
        self.pump()
        self.signals.clear()

    def stop_daemon(self, sig=signal.SIGTERM):
        '''Stops kexecd, returns its exit status.'''
        proc, self.daemon = self.daemon, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self.wait_for_name_gone(BUS_NAME)
                return 'hung on SIGTERM, killed'
        self.wait_for_name_gone(BUS_NAME)
        return proc.returncode

    def restart_daemon_hard(self):
        '''kill -9, then start again.'''
        rc = self.stop_daemon(signal.SIGKILL)
        self.assertEqual(rc, -signal.SIGKILL)
        self.start_daemon()

    def wait_for_name_gone(self, name, timeout=10):
        deadline = time.monotonic() + timeout
        while self.bus.name_has_owner(name):
            if time.monotonic() > deadline:
                raise AssertionError(f'{name} still owned {timeout} s after its owner stopped')
            time.sleep(0.02)

    def client(self, uid=UNPRIV_UID):
        c = Client(self.bus_address, self.workdir, uid)
        self.clients.append(c)
        return c

    def flooder(self, uid, kinds, count, inflight=32, abandon=False):
        '''Starts FLOOD_PROGRAM as `uid` (0: root), connected and waiting for a
        line on its stdin; returns (Popen, unique name). Its last line on
        stdout says what came back (see flood()).'''
        spec = {'kinds': kinds, 'count': count, 'inflight': inflight, 'abandon': abandon,
                'oldest': OLDEST}
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8',
               'DBUS_SYSTEM_BUS_ADDRESS': self.bus_address}
        proc = subprocess.Popen(unpriv_prefix(uid) + [PYTHON, '-c', FLOOD_PROGRAM, json.dumps(spec)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd='/')
        self.addCleanup(proc.kill)
        hello = json.loads(proc.stdout.readline())
        self.assertEqual(hello['uid'], uid)
        return proc, hello['unique_name']

    def flood(self, uid, kinds, count, inflight=32):
        '''Runs a flood to its end: {"sent", "replies", "max_latency",
        "results": {kind: {"ok" or error name: count}}}.'''
        proc, name = self.flooder(uid, kinds, count, inflight)
        out, _ = proc.communicate(b'go\n', timeout=120)
        self.assertEqual(proc.returncode, 0)
        return dict(json.loads(out), unique_name=name)

    def proc_status(self, field):
        '''A field of /proc/PID/status of kexecd (VmRSS in KiB, Threads).'''
        with open(f'/proc/{self.daemon.pid}/status', encoding='ascii') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
        raise AssertionError(f'no {field} in /proc/{self.daemon.pid}/status')

    def require_root(self):
        if not IS_ROOT:
            sys.stderr.write(f'\n*** {self.id()}: {NEEDS_ROOT} ***\n')
            self.skipTest(NEEDS_ROOT)

    # --- polkit mock --------------------------------------------------------

    def set_policy(self, allowed=(), challenge=(), hanging=()):
        self.policy = {'allowed': list(allowed), 'challenge': list(challenge),
                       'hanging': list(hanging)}
        self._apply_policy()

    def _apply_policy(self):
        self.polkit.SetAllowed(dbus.Array(self.policy['allowed'], signature='s'))
        self.polkit.SetChallenge(dbus.Array(self.policy['challenge'], signature='s'))
        self.polkit.SetHanging(dbus.Array(self.policy['hanging'], signature='s'))

    def polkit_calls(self):
        return [(str(kind), py(details), str(action), int(flags))
                for kind, details, action, flags in self.polkit.GetCalls()]

    def polkit_checks(self):
        '''Every check as a dict: subject, action, details, flags, cancellation_id.'''
        return [{'subject': (str(kind), py(subject)), 'action': str(action),
                 'details': py(details), 'flags': int(flags), 'cancellation_id': str(cid)}
                for kind, subject, action, details, flags, cid in self.polkit.GetChecks()]

    def assert_subjects(self, calls, client):
        '''Every check was about the calling client's connection.'''
        for kind, details, _action, _flags in calls:
            self.assertEqual(kind, 'system-bus-name')
            self.assertEqual(details, {'name': client.unique_name})

    def admin(self, method, *args):
        '''Sets up state as an administrator would: root when we are root,
        else an unprivileged caller that polkit allows everything for once.'''
        if IS_ROOT:
            return py(getattr(self.manager, method)(*args, signature=SIGNATURES[method]))
        self.assertIsNotNone(self.polkit, 'admin() without root needs the polkit mock')
        self.polkit.SetAllowed(dbus.Array(ALL_ACTIONS, signature='s'))
        self.polkit.SetChallenge(dbus.Array([], signature='s'))
        self.polkit.SetHanging(dbus.Array([], signature='s'))
        try:
            r = self.client().call(method, *args)
        finally:
            self._apply_policy()
            self.polkit.ClearCalls()
        self.assertTrue(r['ok'], r)
        return r['result']

    # --- the sample tree -----------------------------------------------------

    def install_kernel(self, version, initrd=True):
        '''As a kernel package would: modules, image (through a temp name), initrd.'''
        os.makedirs(os.path.join(self.root, 'lib/modules', version, 'kernel'))
        boot = os.path.join(self.root, 'boot')
        with open(os.path.join(boot, f'config-{version}'), 'w', encoding='utf-8') as f:
            f.write('CONFIG_KEXEC_FILE=y\n')
        tmp = os.path.join(boot, f'vmlinuz-{version}.dpkg-new')
        with open(tmp, 'wb') as f:
            f.write(bz_image(version))
        os.rename(tmp, os.path.join(boot, f'vmlinuz-{version}'))
        if initrd:
            self.install_initrd(version)

    def install_initrd(self, version):
        with open(os.path.join(self.root, 'boot', f'initrd.img-{version}'), 'w',
                  encoding='utf-8') as f:
            f.write(f'initrd for {version}\n')

    def remove_kernel(self, version):
        for name in (f'vmlinuz-{version}', f'initrd.img-{version}', f'config-{version}'):
            os.unlink(os.path.join(self.root, 'boot', name))
        shutil.rmtree(os.path.join(self.root, 'lib/modules', version))

    # --- daemon state -------------------------------------------------------

    def _on_properties_changed(self, interface, changed, invalidated):
        self.signals.append((str(interface), py(changed), [str(i) for i in invalidated]))

    def pump(self, seconds=0.0):
        '''Dispatches what arrived (signals), for `seconds` at least.'''
        ctx = GLib.MainContext.default()
        end = time.monotonic() + seconds
        while True:
            while ctx.iteration(False):
                pass
            if time.monotonic() >= end:
                return
            time.sleep(0.01)

    def wait_until(self, cond, timeout=10, what='the condition'):
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                self.fail(f'timed out after {timeout} s waiting for {what}')
            time.sleep(0.02)

    def wait_for_signal(self, timeout=10, **expected):
        '''A PropertiesChanged of org.kexecd1.Manager carrying all `expected`
        values (in one signal or over several).'''
        def seen():
            merged = {}
            for iface, changed, invalidated in self.signals:
                if iface != IFACE:
                    continue
                merged.update(changed)
                for name in invalidated:
                    merged[name] = self.get(name)
            return all(k in merged and merged[k] == v for k, v in expected.items())
        self.wait_until(seen, timeout, f'PropertiesChanged with {expected} '
                                       f'(got {self.signals})')

    def get(self, name):
        return py(self.props.Get(IFACE, name))

    def get_all(self):
        return py(self.props.GetAll(IFACE))

    def assert_staged(self, by, **expected):
        '''All properties are NOTHING_STAGED changed by EXPECTED, with
        StagedBy matching the regex BY, StagedTimestamp within the last
        minute and StagedBytes the size of the staged files under the root.'''
        props = self.get_all()
        self.assertRegex(props.pop('StagedBy'), by)
        stamp = props.pop('StagedTimestamp')
        self.assertLess(abs(stamp / 1e6 - time.time()), 60, f'StagedTimestamp {stamp}')
        files = [props['StagedKernel']] + props['StagedInitrds']
        size = sum(os.path.getsize(self.root + f) for f in files)
        self.assertEqual(props.pop('StagedBytes'), size)
        want = dict(NOTHING_STAGED, **expected)
        for k in ('StagedBy', 'StagedTimestamp', 'StagedBytes'):
            want.pop(k)
        self.assertEqual(props, want)

    def get_all_or_none(self):
        '''The properties, or None when nobody serves them.'''
        try:
            return py(self.bus.get_object(BUS_NAME, OBJ_PATH, introspect=False).GetAll(
                IFACE, dbus_interface=dbus.PROPERTIES_IFACE, timeout=5))
        except dbus.exceptions.DBusException as e:
            if e.get_dbus_name() in ('org.freedesktop.DBus.Error.ServiceUnknown',
                                     'org.freedesktop.DBus.Error.NameHasNoOwner'):
                return None
            raise

    def log(self):
        with open(self.daemon_log, encoding='utf-8', errors='replace') as f:
            return f.read()

    def wait_for_log(self, needle, timeout=5):
        self.wait_until(lambda: needle in self.log(), timeout, f'"{needle}" in the kexecd log')

    def put(self, path, content):
        '''Writes PATH under the root (text, or ('symlink', target)), or
        removes it when CONTENT is None.'''
        full = self.root + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.lexists(full):
            os.unlink(full)
        if isinstance(content, tuple):
            os.symlink(content[1], full)
        elif content is not None:
            with open(full, 'w', encoding='utf-8') as f:
                f.write(content)

    def wait_for_log_re(self, pattern, timeout=5):
        self.wait_until(lambda: re.search(pattern, self.log(), re.M), timeout,
                        f'/{pattern}/ in the kexecd log')

    def assert_alive(self):
        self.assertIsNotNone(self.daemon, 'kexecd is not running')
        self.assertIsNone(self.daemon.poll(), 'kexecd died')
        self.assertEqual(py(self.manager.ListKernels()), SAMPLE_KERNELS)

    def assert_error(self, reply, name, message_has=None):
        self.assertFalse(reply['ok'], f'expected {name}, got {reply}')
        self.assertEqual(reply['error'], name, reply)
        if message_has:
            self.assertIn(message_has, reply['message'])

    def assert_ok(self, reply, result=None):
        self.assertTrue(reply['ok'], f'call failed: {reply}')
        if result is not None:
            self.assertEqual(reply['result'], result)
        return reply['result']

    # --- kexecctl ---------------------------------------------------------

    def kexecctl(self, *args, unprivileged=True, bus_address=None, env=None):
        '''Runs kexecctl; unprivileged=False runs it as the test's own user;
        ENV adds to its (small, fixed) environment.'''
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8',
               'DBUS_SYSTEM_BUS_ADDRESS': bus_address or self.bus_address, **(env or {})}
        prefix = UNPRIV_PREFIX if unprivileged else []
        return subprocess.run(prefix + [self.kexecctl_path, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=env, cwd='/', timeout=60)

    def assert_exit(self, proc, code):
        self.assertEqual(proc.returncode, code,
                         f'{proc.args}: exit {proc.returncode}, wanted {code}\n'
                         f'stdout: {proc.stdout}\nstderr: {proc.stderr}')


class TapResult(unittest.TextTestResult):
    '''unittest's own report goes to stderr; each test also gets a TAP line
    on stdout, so that meson counts (and names) every test method.'''

    count = 0

    def _tap(self, ok, test, directive=''):
        TapResult.count += 1
        print(f"{'ok' if ok else 'not ok'} {TapResult.count} - {test.id()}{directive}",
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._tap(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._tap(False, test)

    def addError(self, test, err):
        super().addError(test, err)
        self._tap(False, test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._tap(True, test, f' # SKIP {reason}')

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._tap(True, test, ' # TODO expected failure')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._tap(False, test)


def main():
    '''Runs the test module that calls it, TAP on stdout.'''
    if not IS_ROOT:
        sys.stderr.write(
            '\n' + '*' * 78 + '\n'
            f'*** {PROG} is NOT running as root: the unprivileged callers run as\n'
            f'*** uid {UNPRIV_UID} (you), and the tests of root callers are SKIPPED.\n'
            '*** Run the integration tests as root for full coverage.\n' + '*' * 78 + '\n\n')
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=TapResult)
    result = unittest.main(module='__main__', testRunner=runner, exit=False).result
    print(f'1..{TapResult.count}', flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)
