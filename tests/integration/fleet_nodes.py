'''What test_fleet.py runs: a real etcd on loopback ports it picks (data in
a temporary directory, stopped by PID), kexecd --simulate nodes (each its
own sample root, its own private system bus and a python-dbusmock stand-in
for systemd's SystemState), and a FleetLock protocol double. A simulated
reboot is a node's kexecd stopped and started again on a tree that now runs
the staged kernel, with a new boot ID and an empty /run.'''

import base64
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import dbus

from common import KEXECD, KEXECCTL, SAMPLE_ROOT, PYTHON, bus_config

ETCD = '/usr/bin/etcd'
OPENSSL = '/usr/bin/openssl'
SYSTEMD_NAME = 'org.freedesktop.systemd1'
REBOOTED = 'simulated reboot: would reboot into'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def b64(s):
    return base64.b64encode(s.encode()).decode()


def unb64(s):
    return base64.b64decode(s).decode()


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout} s waiting for {what}')
        time.sleep(0.05)


def make_certs(d):
    '''A CA, a server certificate for 127.0.0.1 (clientAuth too: etcd 3.4's
    JSON gateway connects back with it) and a client certificate.'''
    os.makedirs(d, exist_ok=True)

    def run(*args):
        subprocess.run([OPENSSL, *args], check=True, capture_output=True, cwd=d)

    key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    run('req', '-x509', *key, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
        '-subj', '/CN=kexecd test CA')
    for name, eku, san in (('server', 'serverAuth,clientAuth', 'IP:127.0.0.1,DNS:localhost'),
                           ('client', 'clientAuth', 'DNS:node')):
        with open(os.path.join(d, name + '.ext'), 'w', encoding='utf-8') as f:
            f.write(f'extendedKeyUsage={eku}\nsubjectAltName={san}\n')
        run('req', *key, '-keyout', name + '.key', '-out', name + '.csr', '-subj', '/CN=' + name)
        run('x509', '-req', '-in', name + '.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-CAcreateserial', '-out', name + '.pem', '-days', '2', '-extfile', name + '.ext')
    return d


class Etcd:
    '''One etcd member; keeps its ports and data across stop() and start().'''

    def __init__(self, workdir, certs=None):
        self.dir = os.path.join(workdir, 'etcd')
        self.log_path = os.path.join(workdir, 'etcd.log')
        self.client_port, self.peer_port = free_port(), free_port()
        self.certs = certs
        scheme = 'https' if certs else 'http'
        self.url = f'{scheme}://127.0.0.1:{self.client_port}'
        self.proc = None
        self.ctx = None
        if certs:
            self.ctx = ssl.create_default_context(cafile=os.path.join(certs, 'ca.pem'))
            self.ctx.load_cert_chain(os.path.join(certs, 'client.pem'),
                                     os.path.join(certs, 'client.key'))

    def start(self):
        peer = f'http://127.0.0.1:{self.peer_port}'
        args = [ETCD, '--name', 'test', '--data-dir', self.dir,
                '--listen-client-urls', self.url, '--advertise-client-urls', self.url,
                '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
                '--initial-cluster', f'test={peer}', '--log-level', 'warn']
        if self.certs:
            c = self.certs
            args += ['--client-cert-auth', '--trusted-ca-file', os.path.join(c, 'ca.pem'),
                     '--cert-file', os.path.join(c, 'server.pem'),
                     '--key-file', os.path.join(c, 'server.key')]
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f'etcd exited with {self.proc.returncode}; see '
                                     f'{self.log_path}')
            try:
                self.call('/v3/kv/range', {'key': b64('ping')})
                return True
            except (OSError, urllib.error.URLError, AssertionError):
                return False
        wait_until(up, 30, 'etcd to answer')

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def call(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=5, context=self.ctx) as r:
            if r.status != 200:
                raise AssertionError(f'etcd: HTTP {r.status}')
            return json.loads(r.read())

    def get(self, key, revision=None):
        '''(value or None, its version, the store's revision).'''
        body = {'key': b64(key)}
        if revision:
            body['revision'] = str(revision)
        r = self.call('/v3/kv/range', body)
        kvs = r.get('kvs') or []
        rev = int(r['header']['revision'])
        if not kvs:
            return None, 0, rev
        return unb64(kvs[0].get('value', '')), int(kvs[0]['version']), rev

    def put(self, key, value):
        self.call('/v3/kv/put', {'key': b64(key), 'value': b64(value)})

    def cas(self, key, value, version):
        r = self.call('/v3/kv/txn', {
            'compare': [{'key': b64(key), 'target': 'VERSION', 'result': 'EQUAL',
                         'version': str(version)}],
            'success': [{'request_put': {'key': b64(key), 'value': b64(value)}}]})
        return bool(r.get('succeeded'))

    def history(self, key):
        '''Every value the key had, one per revision of the store.'''
        _, _, last = self.get(key)
        values = []
        for rev in range(1, last + 1):
            v, _, _ = self.get(key, rev)
            if v is not None and (not values or values[-1] != v):
                values.append(v)
        return values


class FleetLockDouble:
    '''Zincati's FleetLock protocol (POST /v1/pre-reboot, /v1/steady-state),
    enough to test kexecd's client: no FleetLock server is packaged in
    Debian. Counts the most holders it ever had.'''

    def __init__(self, slots=1):
        self.slots = slots
        self.holders = set()
        self.max_holders = 0
        self.requests = []
        self.lock = threading.Lock()
        double = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                params = body['client_params']
                with double.lock:
                    double.requests.append((self.path, dict(self.headers), body))
                    if self.headers.get('fleet-lock-protocol') != 'true':
                        return self.answer(400, {'kind': 'missing_header',
                                                 'value': 'fleet-lock-protocol'})
                    if self.path == '/v1/pre-reboot':
                        if params['id'] not in double.holders and \
                                len(double.holders) >= double.slots:
                            return self.answer(409, {
                                'kind': 'failed_lock',
                                'value': f'all {double.slots} semaphore slots currently locked'})
                        double.holders.add(params['id'])
                        double.max_holders = max(double.max_holders, len(double.holders))
                    elif self.path == '/v1/steady-state':
                        double.holders.discard(params['id'])
                    else:
                        return self.answer(404, {'kind': 'not_found', 'value': self.path})
                return self.answer(200, None)

            def answer(self, status, obj):
                data = b'' if obj is None else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


SYSTEMD_POLICY = f'''<policy user="root">
    <allow own="{SYSTEMD_NAME}"/>
    <allow send_destination="{SYSTEMD_NAME}"/>
  </policy>
</busconfig>'''


class Node:
    '''One machine: sample root, private system bus, systemd stand-in, kexecd.'''

    def __init__(self, workdir, name, fleet_conf, system_state='running', auto_stage=True):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.root = os.path.join(self.dir, 'root')
        subprocess.run([SAMPLE_ROOT, self.root], check=True)
        self.config = os.path.join(self.dir, 'kexecd.conf')
        with open(self.config, 'w', encoding='utf-8') as f:
            f.write(f'[Stage]\nAutoStage={"yes" if auto_stage else "no"}\nSettleDelaySec=0.2\n'
                    f'[Fleet]\nNodeId={name}\n{fleet_conf}')
        self.log_path = os.path.join(self.dir, 'kexecd.log')
        sock = os.path.join(self.dir, 'bus')
        conf = os.path.join(self.dir, 'bus.conf')
        with open(conf, 'w', encoding='utf-8') as f:
            f.write(bus_config(sock).replace('</busconfig>', SYSTEMD_POLICY))
        out = subprocess.check_output(['dbus-daemon', '--fork', '--print-address=1',
                                       '--print-pid=1', '--config-file=' + conf], text=True)
        lines = out.split()
        self.bus_pid, self.address = int(lines[1]), lines[0]
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        self.env.pop('JOURNAL_STREAM', None)
        with open(os.path.join(self.dir, 'systemd-mock.log'), 'ab') as log:
            self.systemd = subprocess.Popen(
                [PYTHON, '-m', 'dbusmock', '--system', SYSTEMD_NAME, '/org/freedesktop/systemd1',
                 'org.freedesktop.systemd1.Manager'],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.bus = dbus.bus.BusConnection(self.address)
        wait_until(lambda: self.bus.name_has_owner(SYSTEMD_NAME), 15, 'the systemd mock')
        mock = self.bus.get_object(SYSTEMD_NAME, '/org/freedesktop/systemd1')
        mock.AddProperty('org.freedesktop.systemd1.Manager', 'SystemState', system_state,
                         dbus_interface='org.freedesktop.DBus.Mock')
        self.daemon = None
        self.boots = 0
        self.log_offset = 0

    def maps(self):
        '''The running daemon's memory map (/proc/PID/maps).'''
        with open(f'/proc/{self.daemon.pid}/maps', encoding='utf-8', errors='replace') as f:
            return f.read()

    def set_system_state(self, state):
        mock = self.bus.get_object(SYSTEMD_NAME, '/org/freedesktop/systemd1')
        mock.Set('org.freedesktop.systemd1.Manager', 'SystemState', state,
                 dbus_interface=dbus.PROPERTIES_IFACE)

    def start(self):
        with open(self.log_path, 'ab') as log:
            log.write(f'===== boot {self.boots} at {time.strftime("%T")} =====\n'.encode())
            log.flush()
            self.log_offset = log.tell()
            self.daemon = subprocess.Popen(
                [KEXECD, '--root', self.root, '--config', self.config, '--simulate', '--debug'],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env)

        def up():
            if self.daemon.poll() is not None:
                raise AssertionError(f'{self.name}: kexecd exited with {self.daemon.returncode}'
                                     f':\n{self.log()}')
            return self.bus.name_has_owner('org.kexecd1')
        wait_until(up, 15, f'{self.name} kexecd on its bus')

    def stop(self, sig=signal.SIGTERM):
        if self.daemon and self.daemon.poll() is None:
            os.kill(self.daemon.pid, sig)
            self.daemon.wait(15)
        self.daemon = None
        wait_until(lambda: not self.bus.name_has_owner('org.kexecd1'), 10,
                   f'{self.name} kexecd gone')

    def log(self, this_boot=False):
        with open(self.log_path, encoding='utf-8', errors='replace') as f:
            if this_boot:
                f.seek(self.log_offset)
            return f.read()

    def rebooted(self):
        '''Whether kexecd issued the (simulated) reboot in this boot.'''
        return REBOOTED in self.log(this_boot=True)

    def boot_staged(self):
        '''The reboot: the tree now runs the staged kernel, a new boot ID,
        an empty /run; kexecd starts again.'''
        staged = self.status()['staged_version']
        self.stop()
        with open(os.path.join(self.root, 'proc/sys/kernel/osrelease'), 'w',
                  encoding='utf-8') as f:
            f.write(staged + '\n')
        with open(os.path.join(self.root, 'proc/sys/kernel/random/boot_id'), 'w',
                  encoding='utf-8') as f:
            f.write(str(uuid.uuid4()) + '\n')
        shutil.rmtree(os.path.join(self.root, 'run'), ignore_errors=True)
        os.makedirs(os.path.join(self.root, 'run'))
        self.boots += 1
        self.start()
        return staged

    def kexecctl(self, *args, timeout=60):
        return subprocess.run([KEXECCTL, '--no-ask-password', *args], capture_output=True,
                              text=True, env=self.env, timeout=timeout, stdin=subprocess.DEVNULL)

    def popen_kexecctl(self, *args):
        return subprocess.Popen([KEXECCTL, '--no-ask-password', *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env,
                                stdin=subprocess.DEVNULL)

    def status(self):
        p = self.kexecctl('--json=short', 'status')
        if p.returncode != 0:
            raise AssertionError(f'{self.name}: kexecctl status: {p.stderr}')
        return json.loads(p.stdout)

    def fleet_status(self):
        p = self.kexecctl('--json=short', 'fleet', 'status')
        if p.returncode != 0:
            raise AssertionError(f'{self.name}: kexecctl fleet status: {p.stderr}')
        return json.loads(p.stdout)

    def close(self):
        try:
            self.stop()
        except AssertionError:
            pass
        if self.systemd and self.systemd.poll() is None:
            self.systemd.terminate()
            self.systemd.wait(10)
        self.bus.close()
        os.kill(self.bus_pid, signal.SIGTERM)
