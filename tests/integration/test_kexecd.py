#!/usr/bin/python3
'''D-Bus integration tests for kexecd and kexecctl.

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
programs; "meson test integration" does that.

Nothing here can load a kernel: kexecd always runs with --simulate, and
every process gets DBUS_SYSTEM_BUS_ADDRESS of the private bus.
'''

import json
import os
import pwd
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import dbus
import dbus.mainloop.glib
import dbusmock
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)


def _required_program(var):
    path = os.environ.get(var)
    if not path:
        sys.exit(f'test_kexecd.py: {var} is not set; run these tests with '
                 f'"meson test -C BUILDDIR integration"')
    if not os.access(path, os.X_OK):
        sys.exit(f'test_kexecd.py: {var}={path} is not an executable')
    return os.path.abspath(path)


KEXECD = _required_program('KEXECD')
KEXECCTL = _required_program('KEXECCTL')
SAMPLE_ROOT = _required_program('KEXECD_SAMPLE_ROOT')

HERE = os.path.dirname(os.path.abspath(__file__))
POLKIT_TEMPLATE = os.path.join(HERE, 'polkitd_kexecd.py')
# The bus policy kexecd ships; the private bus enforces it.
BUS_TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data',
                            'system-bus.conf.in')
BUS_POLICY = os.path.abspath(os.environ.get('KEXECD_BUS_POLICY') or
                             os.path.join(HERE, '..', '..', 'dbus', 'org.kexecd1.conf'))
if not os.path.isfile(BUS_POLICY):
    sys.exit(f'test_kexecd.py: no bus policy at {BUS_POLICY} (set KEXECD_BUS_POLICY)')
PYTHON = '/usr/bin/python3'

BUS_NAME = 'org.kexecd1'
OBJ_PATH = '/org/kexecd1'
IFACE = 'org.kexecd1.Manager'
POLKIT_NAME = 'org.freedesktop.PolicyKit1'

ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
INTERACTIVE_REQUIRED = 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired'
E_INVALID = 'org.kexecd1.Error.InvalidArgument'
E_NOT_FOUND = 'org.kexecd1.Error.NotFound'
E_NOT_BOOTABLE = 'org.kexecd1.Error.NotBootable'
E_NOT_STAGED = 'org.kexecd1.Error.NotStaged'
E_BUSY = 'org.kexecd1.Error.Busy'

A_STAGE = 'org.kexecd1.stage'
A_CUSTOM = 'org.kexecd1.stage-custom'
A_UNSTAGE = 'org.kexecd1.unstage'
A_REBOOT = 'org.kexecd1.reboot'
ALL_ACTIONS = [A_STAGE, A_CUSTOM, A_UNSTAGE, A_REBOOT]

# The sample tree (tests/fixture/sample_tree.cpp).
NO_MODULES = '6.13.1-amd64'
NEWEST = '6.12.12+deb12-amd64'
NO_INITRD = '6.12.9+deb12-amd64'
RUNNING = '6.1.0-13-amd64'
OLDEST = '6.1.0-9-amd64'
DERIVED_CMDLINE = 'root=UUID=0a1b2c3d ro quiet console=ttyS0,115200'
NEW_KERNEL = '6.14.2-amd64'  # installed by some tests
SAMPLE_KERNELS = [
    [NO_MODULES, f'/boot/vmlinuz-{NO_MODULES}', [f'/boot/initrd.img-{NO_MODULES}'], False,
     'no modules directory'],
    [NEWEST, f'/boot/vmlinuz-{NEWEST}', [f'/boot/initrd.img-{NEWEST}'], True, ''],
    [NO_INITRD, f'/boot/vmlinuz-{NO_INITRD}', [], False, 'no initrd'],
    [RUNNING, f'/boot/vmlinuz-{RUNNING}', [f'/boot/initrd.img-{RUNNING}'], True, ''],
    [OLDEST, f'/boot/vmlinuz-{OLDEST}', [f'/boot/initrd.img-{OLDEST}'], True, ''],
]
NOTHING_STAGED = {
    'Loaded': False,
    'StagedVersion': '',
    'StagedKernel': '',
    'StagedInitrds': [],
    'StagedCmdline': '',
    'StagedOrigin': '',
    'NewestVersion': NEWEST,
    'RunningVersion': RUNNING,
    'AutoStage': False,
}

IS_ROOT = os.geteuid() == 0
UNPRIV_UID = 65534 if IS_ROOT else os.getuid()
# Root drops to nobody for the unprivileged callers; anyone else already is one.
UNPRIV_PREFIX = (['setpriv', f'--reuid={UNPRIV_UID}', f'--regid={UNPRIV_UID}', '--clear-groups']
                 if IS_ROOT else [])
NEEDS_ROOT = ('NEEDS ROOT: this test checks what a uid 0 caller may do and was NOT run; '
              'run the integration tests as root to cover it')


def py(v):
    '''D-Bus values as plain Python values (for comparing and JSON).'''
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (list, tuple)):
        return [py(x) for x in v]
    if isinstance(v, dict):
        return {str(k): py(x) for k, x in v.items()}
    if isinstance(v, str):
        return str(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    return v


def bz_image(version, pad_to=16384):
    '''A minimal x86 bzImage, as tests/fixture/sample_tree.cpp bzImage() makes it.'''
    setup_sects = 4
    img = bytearray(max(pad_to, 0x200 * (setup_sects + 1) + 512))
    img[0:2] = b'MZ'
    img[0x1F1] = setup_sects
    struct.pack_into('<H', img, 0x1FE, 0xAA55)
    img[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', img, 0x206, 0x020F)
    kv = 0x0300
    struct.pack_into('<H', img, 0x20E, kv)
    banner = f'{version} (builder@example) #1 SMP PREEMPT_DYNAMIC Debian'.encode() + b'\0'
    img[kv + 0x200:kv + 0x200 + len(banner)] = banner
    return bytes(img)


def bus_config(socket):
    '''The private system bus (tests/data/system-bus.conf.in: the default
    policy of Debian's system.conf) with the project's own
    dbus/org.kexecd1.conf and, for the harness, who may own and call the
    polkitd mock.'''
    # The test's own user runs the daemon and the polkitd mock: root, as on a
    # real system, or without root the invoking user, who then needs to own
    # the names too.
    harness_user = 'root' if IS_ROOT else pwd.getpwuid(os.getuid()).pw_name
    # Root gets nothing for org.kexecd1 here: the shipped policy must grant it.
    kexecd_rules = '' if IS_ROOT else f'''
    <allow own="{BUS_NAME}"/>
    <allow send_destination="{BUS_NAME}"/>'''
    extra = f'''<policy context="default">
    <!-- as polkit's own bus policy -->
    <allow send_destination="{POLKIT_NAME}"
           send_interface="org.freedesktop.PolicyKit1.Authority"/>
  </policy>
  <include>{BUS_POLICY}</include>
  <policy user="{harness_user}">
    <allow own="{POLKIT_NAME}"/>
    <allow send_destination="{POLKIT_NAME}"/>{kexecd_rules}
  </policy>'''
    with open(BUS_TEMPLATE) as f:
        return f.read().replace('@SOCKET@', socket).replace('@EXTRA@', extra)


# The unprivileged client: a small python-dbus program run as another user,
# taking one JSON request a line on stdin and answering one JSON line each.
CLIENT_PROGRAM = r'''
import json, os, sys, time
import dbus, dbus.lowlevel

def py(v):
    if isinstance(v, dbus.Boolean): return bool(v)
    if isinstance(v, (list, tuple)): return [py(x) for x in v]
    if isinstance(v, dict): return {str(k): py(x) for k, x in v.items()}
    if isinstance(v, str): return str(v)
    if isinstance(v, int): return int(v)
    return v

bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
print(json.dumps({"unique_name": str(bus.get_unique_name()), "uid": os.getuid(),
                  "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups()}),
      flush=True)
for line in sys.stdin:
    req = json.loads(line)
    dest, path = req.get("dest", "org.kexecd1"), req.get("path", "/org/kexecd1")
    iface = req.get("interface", "org.kexecd1.Manager")
    sig = req.get("signature") or None
    start = time.monotonic()
    if req.get("send_only"):
        # Fire and forget: the replies are never read.
        for _ in range(req["send_only"]):
            msg = dbus.lowlevel.MethodCallMessage(dest, path, iface, req["method"])
            if sig: msg.append(*req.get("args", []), signature=sig)
            bus.send_message(msg)
        bus.flush()
        out = {"ok": True, "result": None}
    else:
        obj = bus.get_object(dest, path, introspect=False)
        try:
            res = obj.get_dbus_method(req["method"], iface)(
                *req.get("args", []), signature=sig, timeout=req.get("timeout", 60))
            out = {"ok": True, "result": py(res)}
        except dbus.exceptions.DBusException as e:
            out = {"ok": False, "error": e.get_dbus_name(), "message": e.get_dbus_message()}
    out["elapsed"] = time.monotonic() - start
    print(json.dumps(out), flush=True)
'''

SIGNATURES = {
    'ListKernels': '', 'StageNewest': 'b', 'Stage': 'ssb', 'Unstage': 'b', 'Reboot': 'b',
    'Rescan': 'b',
}


class Client:
    '''An unprivileged D-Bus client process (nobody when the tests run as root).'''

    def __init__(self, bus_address, workdir):
        self.stderr_path = tempfile.mkstemp(prefix='client-', suffix='.stderr', dir=workdir)[1]
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8',
               'DBUS_SYSTEM_BUS_ADDRESS': bus_address}
        with open(self.stderr_path, 'wb') as err:
            self.proc = subprocess.Popen(UNPRIV_PREFIX + [PYTHON, '-c', CLIENT_PROGRAM],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, env=env, cwd='/')
        self._buf = b''
        hello = self._read(20)
        self.unique_name = hello['unique_name']
        self.uid = hello['uid']
        if (hello['uid'], hello['euid'], hello['gid']) != (UNPRIV_UID,) * 3 or \
                (IS_ROOT and hello['groups']):
            raise AssertionError(f'the unprivileged client is not who it should be: {hello}')
        if hello['euid'] == 0:
            raise AssertionError('the unprivileged client runs as root')

    def _read(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b'\n' not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f'no answer from the client within {timeout} s')
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    with open(self.stderr_path, encoding='utf-8', errors='replace') as f:
                        raise AssertionError(f'client exited: {f.read()}')
                self._buf += chunk
        line, self._buf = self._buf.split(b'\n', 1)
        return json.loads(line)

    def send(self, method, *args, interface=IFACE, signature=None, timeout=60, send_only=0,
             dest=BUS_NAME, path=OBJ_PATH):
        if signature is None:
            signature = SIGNATURES.get(method, '') if interface == IFACE else ''
        req = {'method': method, 'args': list(args), 'interface': interface,
               'signature': signature, 'timeout': timeout, 'send_only': send_only,
               'dest': dest, 'path': path}
        self.proc.stdin.write((json.dumps(req) + '\n').encode())
        self.proc.stdin.flush()

    def receive(self, timeout=60):
        return self._read(timeout)

    def call(self, method, *args, timeout=60, **kw):
        self.send(method, *args, timeout=timeout, **kw)
        return self.receive(timeout + 10)

    def get(self, prop):
        return self.call('Get', IFACE, prop, interface=dbus.PROPERTIES_IFACE, signature='ss')

    def get_all(self):
        return self.call('GetAll', IFACE, interface=dbus.PROPERTIES_IFACE, signature='s')

    def running(self):
        return self.proc.poll() is None

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class KexecdTestCase(dbusmock.DBusTestCase):
    '''A private system bus for the class; polkitd mock and kexecd for each test.'''

    CONFIG = '[Stage]\nAutoStage=no\nSettleDelaySec=0.2\n'
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
        self.config = os.path.join(self.workdir, 'kexecd.conf')
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

    def start_daemon(self):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        env.pop('JOURNAL_STREAM', None)
        with open(self.daemon_log, 'ab') as log:
            log.write(f'===== kexecd started at {time.strftime("%T")} =====\n'.encode())
            log.flush()
            self.daemon = subprocess.Popen(
                [KEXECD, '--root', self.root, '--config', self.config, '--simulate', '--debug'],
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

    def client(self):
        c = Client(self.bus_address, self.workdir)
        self.clients.append(c)
        return c

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

    def kexecctl(self, *args, unprivileged=True, bus_address=None):
        '''Runs kexecctl; unprivileged=False runs it as the test's own user.'''
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8',
               'DBUS_SYSTEM_BUS_ADDRESS': bus_address or self.bus_address}
        prefix = UNPRIV_PREFIX if unprivileged else []
        return subprocess.run(prefix + [self.kexecctl_path, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=env, cwd='/', timeout=60)

    def assert_exit(self, proc, code):
        self.assertEqual(proc.returncode, code,
                         f'{proc.args}: exit {proc.returncode}, wanted {code}\n'
                         f'stdout: {proc.stdout}\nstderr: {proc.stderr}')


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
        self.assertEqual(self.get_all(), dict(
            NOTHING_STAGED, Loaded=True, StagedVersion=NEWEST,
            StagedKernel=f'/boot/vmlinuz-{NEWEST}', StagedInitrds=[f'/boot/initrd.img-{NEWEST}'],
            StagedCmdline=DERIVED_CMDLINE, StagedOrigin='simulated'))
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
        self.set_policy(allowed=ALL_ACTIONS)
        self.assertEqual(self.polkit.ReleaseHangingCalls(), 1)
        # The reply has nowhere to go; the daemon must not mind.
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


class AutoStageTest(KexecdTestCase):
    '''AutoStage=yes: kexecd follows /boot.'''

    CONFIG = '[Stage]\nAutoStage=yes\nSettleDelaySec=0.2\n'

    def test_staged_at_start(self):
        self.assertEqual(self.get_all(), dict(
            NOTHING_STAGED, AutoStage=True, Loaded=True, StagedVersion=NEWEST,
            StagedKernel=f'/boot/vmlinuz-{NEWEST}', StagedInitrds=[f'/boot/initrd.img-{NEWEST}'],
            StagedCmdline=DERIVED_CMDLINE, StagedOrigin='simulated'))

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


class KexecctlTest(KexecdTestCase):
    '''kexecctl against the daemon.'''

    def test_list(self):
        p = self.kexecctl('list')
        self.assert_exit(p, 0)
        lines = p.stdout.splitlines()
        self.assertRegex(lines[0], r'^\s+VERSION\s+BOOTABLE\s+IMAGE\s+NOTE$')
        rows = [line.split() for line in lines[1:]]
        self.assertEqual([r[0] for r in rows], [k[0] for k in SAMPLE_KERNELS])
        self.assertEqual([r[1] for r in rows], ['no', 'yes', 'no', 'yes', 'yes'])
        self.assertIn('no modules directory', lines[1])
        self.assertIn('newest', lines[2])
        self.assertIn('no initrd', lines[3])
        self.assertIn('running', lines[4])

        p = self.kexecctl('--json', 'list')
        self.assert_exit(p, 0)
        self.assertEqual(json.loads(p.stdout), [
            {'version': v, 'image': i, 'initrds': r, 'bootable': b, 'reason': why,
             'staged': False, 'running': v == RUNNING}
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
            'running_version': RUNNING, 'auto_stage': False})

        self.admin('StageNewest', False)
        p = self.kexecctl('status')
        self.assert_exit(p, 0)
        self.assertIn(f'Staged: {NEWEST} (simulated)\n', p.stdout)
        self.assertIn(f'Kernel: /boot/vmlinuz-{NEWEST}\n', p.stdout)
        self.assertIn(f'Cmdline: {DERIVED_CMDLINE}\n', p.stdout)
        self.assertIn('Loaded: yes\n', p.stdout)
        self.assertIn("'kexecctl reboot' boots it", p.stdout)
        j = json.loads(self.kexecctl('--json').stdout)
        self.assertEqual((j['staged_version'], j['staged_origin'], j['loaded'],
                          j['staged_cmdline'], j['staged_initrds']),
                         (NEWEST, 'simulated', True, DERIVED_CMDLINE,
                          [f'/boot/initrd.img-{NEWEST}']))

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


if __name__ == '__main__':
    if not IS_ROOT:
        sys.stderr.write(
            '\n' + '*' * 78 + '\n'
            '*** test_kexecd.py is NOT running as root: the unprivileged callers run as\n'
            f'*** uid {UNPRIV_UID} (you), and the tests of root callers are SKIPPED.\n'
            '*** Run the integration tests as root for full coverage.\n' + '*' * 78 + '\n\n')
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=TapResult)
    result = unittest.main(testRunner=runner, exit=False).result
    print(f'1..{TapResult.count}', flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)
