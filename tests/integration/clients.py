'''The client processes of the integration tests: a python-dbus client
taking one request at a time, and a Gio client that floods (see harness.py).'''

import json
import os
import select
import subprocess
import tempfile
import time

import dbus

from common import BUS_NAME, IFACE, IS_ROOT, OBJ_PATH, PYTHON, UNPRIV_UID, unpriv_prefix


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
    'ListKernels': '', 'ListBootEntries': '', 'StageNewest': 'b', 'Stage': 'ssb', 'Unstage': 'b', 'Reboot': 'b',
    'Rescan': 'b', 'Check': '', 'RebootWithFlags': 'bt',
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
