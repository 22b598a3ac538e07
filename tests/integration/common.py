'''Names, constants and helpers shared by the integration tests (see
harness.py).'''

import os
import pwd
import struct
import sys

import dbus

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
A_REBOOT_IGNORE_INHIBIT = 'org.kexecd1.reboot-ignore-inhibit'
ALL_ACTIONS = [A_STAGE, A_CUSTOM, A_UNSTAGE, A_REBOOT, A_REBOOT_IGNORE_INHIBIT]

# The sample tree (tests/fixture/sample_tree.cpp).
NO_MODULES = '6.13.1-amd64'
NEWEST = '6.12.12+deb12-amd64'
NO_INITRD = '6.12.9+deb12-amd64'
RUNNING = '6.1.0-13-amd64'
OLDEST = '6.1.0-9-amd64'
# The sample booted with "nomodeset" typed at the GRUB menu: not carried over.
DERIVED_CMDLINE = 'root=UUID=0a1b2c3d ro quiet console=ttyS0,115200'
GRUB = 'GRUB (/boot/grub/grub.cfg)'
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
    # The sample's grub.cfg, pinned to the running kernel (grub-set-default).
    'BootLoader': GRUB,
    'DefaultVersion': RUNNING,
    'BootLoaderCmdline': '',
    'StagedBy': '',
    'StagedTimestamp': 0,
    'StagedBytes': 0,
    # No record of an earlier shutdown in the sample: a firmware boot, and
    # no systemd Manager on the private bus to say how long it took.
    'BootKind': 'firmware',
    'FirmwareUSec': 0,
    'LoaderUSec': 0,
    'FleetState': '',  # no [Fleet] coordinator
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
