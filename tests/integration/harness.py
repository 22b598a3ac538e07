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


PROG = os.path.basename(sys.argv[0])


def _required_program(var):
    path = os.environ.get(var)
    if not path:
        sys.exit(f'{PROG}: {var} is not set; run these tests with '
                 f'"meson test -C BUILDDIR --suite integration"')
    if not os.access(path, os.X_OK):
        sys.exit(f'{PROG}: {var}={path} is not an executable')
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
    sys.exit(f'{PROG}: no bus policy at {BUS_POLICY} (set KEXECD_BUS_POLICY)')
PYTHON = '/usr/bin/python3'

BUS_NAME = 'org.kexecd1'
OBJ_PATH = '/org/kexecd1'
IFACE = 'org.kexecd1.Manager'
POLKIT_NAME = 'org.freedesktop.PolicyKit1'
LOGIND_NAME = 'org.freedesktop.login1'  # a mock, for kexecd --simulate-with-logind

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


def _uid(user):
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        sys.exit(f'{PROG}: no user {user} (base-passwd has it on Debian)')


# More unprivileged users, for per-user budgets (root only). They must exist:
# dbus-daemon drops connections of uids it cannot look up.
OTHER_UID = _uid('games')
MORE_UIDS = [_uid(u) for u in ('daemon', 'bin', 'sys', 'sync', 'man', 'lp', 'mail', 'news',
                               'uucp', 'proxy')]


def unpriv_prefix(uid=UNPRIV_UID):
    '''Root drops to `uid` for the unprivileged callers; anyone else already is one.'''
    if IS_ROOT and uid == 0:
        return []
    if not IS_ROOT:
        assert uid == os.getuid(), 'without root there is only one unprivileged user'
        return []
    return ['setpriv', f'--reuid={uid}', f'--regid={uid}', '--clear-groups']


UNPRIV_PREFIX = unpriv_prefix()
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


def bus_config(socket, servicedir=None):
    '''The private system bus (tests/data/system-bus.conf.in: the default
    policy of Debian's system.conf) with the project's own
    dbus/org.kexecd1.conf and, for the harness, who may own and call the
    polkitd and logind mocks. With `servicedir`, it activates the services
    described there (directly: no systemd, no setuid helper).'''
    # The test's own user runs the daemon and the polkitd mock: root, as on a
    # real system, or without root the invoking user, who then needs to own
    # the names too.
    harness_user = 'root' if IS_ROOT else pwd.getpwuid(os.getuid()).pw_name
    # Root gets nothing for org.kexecd1 here: the shipped policy must grant it.
    kexecd_rules = '' if IS_ROOT else f'''
    <allow own="{BUS_NAME}"/>
    <allow send_destination="{BUS_NAME}"/>'''
    activation = f'\n  <servicedir>{servicedir}</servicedir>' if servicedir else ''
    extra = f'''<policy context="default">
    <!-- as polkit's own bus policy -->
    <allow send_destination="{POLKIT_NAME}"
           send_interface="org.freedesktop.PolicyKit1.Authority"/>
  </policy>
  <include>{BUS_POLICY}</include>{activation}
  <policy user="{harness_user}">
    <allow own="{POLKIT_NAME}"/>
    <allow send_destination="{POLKIT_NAME}"/>
    <allow own="{LOGIND_NAME}"/>
    <allow send_destination="{LOGIND_NAME}"/>{kexecd_rules}
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
                  "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
                  "pid": os.getpid()}),
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

# The flood client (Gio, asynchronous): sends `count` calls of the given kinds, round robin, with at
# most `inflight` waiting for their replies, and prints what came back.
FLOOD_PROGRAM = r'''
import json, os, sys, time
from gi.repository import Gio, GLib

spec = json.loads(sys.argv[1])
conn = Gio.DBusConnection.new_for_address_sync(
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
print(json.dumps({"unique_name": conn.get_unique_name(), "uid": os.getuid()}), flush=True)
sys.stdin.readline()

V = GLib.Variant
BIG = "v" * (1 << 20)
M = ("org.kexecd1", "/org/kexecd1", "org.kexecd1.Manager")
P = ("org.kexecd1", "/org/kexecd1", "org.freedesktop.DBus.Properties")
KINDS = {
    "wrong_signature": M + ("Stage", V("(s)", ("x",))),
    "wrong_signature2": M + ("Unstage", V("(ss)", ("x", "y"))),
    "unknown_method": M + ("Frobnicate", None),
    "unknown_interface": ("org.kexecd1", "/org/kexecd1", "org.kexecd1.Nope", "Stage", None),
    "unknown_object": ("org.kexecd1", "/org/kexecd1/nope", "org.kexecd1.Manager",
                       "ListKernels", None),
    "big_version": M + ("Stage", V("(ssb)", (BIG, "", False))),
    "big_cmdline": M + ("Stage", V("(ssb)", ("", BIG, True))),
    "control_chars": M + ("Stage", V("(ssb)", ("", "quiet\ninit=/bin/sh\x1b[2K\r\x07", False))),
    "newline_version": M + ("Stage", V("(ssb)", ("6.1.0\n-amd64", "", True))),
    "stage_newest": M + ("StageNewest", V("(b)", (True,))),
    "stage_oldest": M + ("Stage", V("(ssb)", (spec["oldest"], "", False))),
    "stage_custom": M + ("Stage", V("(ssb)", ("", "init=/bin/sh", True))),
    "unstage": M + ("Unstage", V("(b)", (True,))),
    "reboot": M + ("Reboot", V("(b)", (False,))),
    "rescan": M + ("Rescan", V("(b)", (False,))),
    "list": M + ("ListKernels", None),
    "get": P + ("Get", V("(ss)", ("org.kexecd1.Manager", "StagedVersion"))),
    "get_bogus": P + ("Get", V("(ss)", ("org.kexecd1.Manager", "Nope\n\x1b"))),
    "get_all": P + ("GetAll", V("(s)", ("org.kexecd1.Manager",))),
    "set": P + ("Set", V("(ssv)", ("org.kexecd1.Manager", "StagedVersion", V("s", "x")))),
    "introspect": ("org.kexecd1", "/org/kexecd1", "org.freedesktop.DBus.Introspectable",
                   "Introspect", None),
}
kinds = spec["kinds"]
count, inflight = spec["count"], spec["inflight"]
results = {k: {} for k in kinds}
state = {"sent": 0, "replies": 0, "waiting": 0, "max_latency": 0.0}
loop = GLib.MainLoop()

def done(source, res, data):
    kind, start = data
    try:
        source.call_finish(res)
        name = "ok"
    except GLib.Error as e:
        name = Gio.DBusError.get_remote_error(e) or f"local:{e.domain}:{e.code}"
    results[kind][name] = results[kind].get(name, 0) + 1
    state["replies"] += 1
    state["waiting"] -= 1
    state["max_latency"] = max(state["max_latency"], time.monotonic() - start)
    send()

def send():
    while state["waiting"] < inflight and state["sent"] < count:
        kind = kinds[state["sent"] % len(kinds)]
        dest, path, iface, method, params = KINDS[kind]
        conn.call(dest, path, iface, method, params, None, Gio.DBusCallFlags.NONE, 60000,
                  None, done, (kind, time.monotonic()))
        state["sent"] += 1
        state["waiting"] += 1
    if state["sent"] == count and (spec.get("abandon") or state["waiting"] == 0):
        loop.quit()

start = time.monotonic()
GLib.idle_add(send)
loop.run()
if spec.get("abandon"):
    conn.flush_sync(None)
print(json.dumps(dict(state, results=results, elapsed=time.monotonic() - start)), flush=True)
'''

SIGNATURES = {
    'ListKernels': '', 'StageNewest': 'b', 'Stage': 'ssb', 'Unstage': 'b', 'Reboot': 'b',
    'Rescan': 'b',
}


class Client:
    '''A D-Bus client process: unprivileged (nobody when the tests run as
    root), or the user `uid`; uid 0 is a root client, when the tests run as
    root.'''

    def __init__(self, bus_address, workdir, uid=UNPRIV_UID):
        self.stderr_path = tempfile.mkstemp(prefix='client-', suffix='.stderr', dir=workdir)[1]
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8',
               'DBUS_SYSTEM_BUS_ADDRESS': bus_address}
        with open(self.stderr_path, 'wb') as err:
            self.proc = subprocess.Popen(unpriv_prefix(uid) + [PYTHON, '-c', CLIENT_PROGRAM],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, env=env, cwd='/')
        self._buf = b''
        hello = self._read(20)
        self.unique_name = hello['unique_name']
        self.uid = hello['uid']
        self.pid = hello['pid']
        if (hello['uid'], hello['euid'], hello['gid']) != (uid,) * 3 or \
                (IS_ROOT and hello['groups']):
            raise AssertionError(f'the unprivileged client is not who it should be: {hello}')
        if hello['euid'] == 0 and uid != 0:
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

    def ready(self):
        '''Whether an answer is waiting to be received.'''
        if b'\n' in self._buf:
            return True
        fd = self.proc.stdout.fileno()
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                return True  # receive() says what happened
            self._buf += chunk
            if b'\n' in self._buf:
                return True
        return False

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

    DAEMON_ARGS = ('--simulate',)

    def start_daemon(self):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        env.pop('JOURNAL_STREAM', None)
        with open(self.daemon_log, 'ab') as log:
            log.write(f'===== kexecd started at {time.strftime("%T")} =====\n'.encode())
            log.flush()
            self.daemon = subprocess.Popen(
                [KEXECD, '--root', self.root, '--config', self.config, *self.DAEMON_ARGS,
                 '--debug'],
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
