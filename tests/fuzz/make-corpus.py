#!/usr/bin/python3
"""Writes the seed corpora in tests/fuzz/corpus/ (they are kept in git; run
this only to change them). Seeds are small: real-looking image headers of a
few KiB, command lines, configuration files, state files and names, each
valid or nearly so, for the fuzzers to start from and for the corpus tests
of the normal suite."""
import gzip
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    # mtime 0 and no name, so the seeds do not change on every run.
    return gzip.compress(data, compresslevel=9, mtime=0)


# --- image: kernel headers as they are at the start of real files ---------

def bzimage(banner, setup_sects=7, kv=0x0C40, size=4096):
    """An x86 bzImage as Linux 6.x builds it: the PE/COFF stub of the EFI
    stub, the boot sector's signature, the setup header (boot protocol
    2.15) and the version string inside the setup code."""
    img = bytearray(size)
    img[0:2] = b"MZ"
    struct.pack_into("<I", img, 0x3C, 0x40)  # PE header offset
    img[0x40:0x44] = b"PE\0\0"
    struct.pack_into("<HH", img, 0x44, 0x8664, 4)  # x86-64, 4 sections
    msg = b"Use a boot loader.\r\n\nRemove disk and press any key to reboot...\r\n\0"
    img[0x100 : 0x100 + len(msg)] = msg
    img[0x1F1] = setup_sects
    struct.pack_into("<H", img, 0x1F2, 1)  # root_flags
    struct.pack_into("<I", img, 0x1F4, 0x7E3C0)  # syssize
    struct.pack_into("<H", img, 0x1FA, 0xFFFF)  # vid_mode
    struct.pack_into("<H", img, 0x1FE, 0xAA55)  # boot_flag
    img[0x200:0x202] = b"\xeb\x6a"  # jump over the header
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, 0x020F)  # protocol 2.15
    struct.pack_into("<H", img, 0x20C, 0x1000)  # start_sys_seg
    struct.pack_into("<H", img, 0x20E, kv)  # kernel_version - 0x200
    img[0x211] = 0x01  # loadflags: LOADED_HIGH
    struct.pack_into("<I", img, 0x214, 0x100000)  # code32_start
    struct.pack_into("<I", img, 0x22C, 0x7FFFFFFF)  # initrd_addr_max
    struct.pack_into("<I", img, 0x230, 0x200000)  # kernel_alignment
    img[0x234] = 1  # relocatable_kernel
    img[0x235] = 0x15  # min_alignment
    struct.pack_into("<H", img, 0x236, 0x7F)  # xloadflags
    struct.pack_into("<I", img, 0x238, 2047)  # cmdline_size
    if banner is not None:
        b = banner.encode() + b"\0"
        img[kv + 0x200 : kv + 0x200 + len(b)] = b
    return bytes(img)


def arm64_image(banner, at=0x800, size=4096):
    """An arm64 Image with the EFI stub's "MZ", its 64-byte header with the
    magic at 0x38, and the "Linux version" banner further in."""
    img = bytearray(size)
    img[0:4] = b"MZ\x40\xfa"  # "ccmp x18, #0, #0xd, pl": harmless, and "MZ"
    struct.pack_into("<Q", img, 8, 0)  # text_offset
    struct.pack_into("<Q", img, 16, 0x2000000)  # image_size
    struct.pack_into("<Q", img, 24, 0xA)  # flags: LE, 4K pages, anywhere
    img[0x38:0x3C] = b"ARM\x64"
    struct.pack_into("<I", img, 0x3C, 0x40)  # PE header offset
    img[0x40:0x44] = b"PE\0\0"
    struct.pack_into("<H", img, 0x44, 0xAA64)
    if banner is not None:
        b = banner.encode()
        img[at : at + len(b)] = b
    return bytes(img)


def zboot(payload, comp=b"gzip", offset=512, size=None):
    """An EFI zboot image (arm64 and others since 6.1): "MZ", "zimg", the
    payload's offset and size, and the compression type."""
    hdr = bytearray(offset)
    hdr[0:2] = b"MZ"
    hdr[4:8] = b"zimg"
    struct.pack_into("<II", hdr, 8, offset, len(payload) if size is None else size)
    hdr[24 : 24 + len(comp)] = comp
    struct.pack_into("<I", hdr, 0x3C, 0x40)
    hdr[0x40:0x44] = b"PE\0\0"
    return bytes(hdr) + payload


DEB_X86 = ("6.1.0-13-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC "
           "Debian 6.1.55-1 (2023-09-29)")
FEDORA_X86 = "6.5.6-300.fc39.x86_64 (mockbuild@d23353abed4340e492bce6e111e27898) #1 SMP PREEMPT_DYNAMIC"
DEB_ARM = ("Linux version 6.1.0-13-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian "
           "12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP Debian 6.1.55-1 "
           "(2023-09-29)\n")


def images():
    deb = bzimage(DEB_X86)
    put("image", "bzimage-debian", deb)
    put("image", "bzimage-fedora", bzimage(FEDORA_X86, setup_sects=6, kv=0x0A20, size=3584))
    put("image", "bzimage-setup-sects-0", bzimage(DEB_X86, setup_sects=0, kv=0x0500, size=2560))
    put("image", "bzimage-header-only", deb[:0x300])
    put("image", "bzimage-no-version", bzimage(None, kv=0))
    put("image", "bzimage-version-outside", bzimage(DEB_X86, kv=0x0E00, size=0x1100))
    put("image", "bzimage-not-a-version", bzimage("(none) #1 SMP"))
    arm = arm64_image(DEB_ARM)
    put("image", "arm64-image", arm)
    put("image", "arm64-no-banner", arm64_image(None, size=1024))
    put("image", "arm64-banner-at-end", arm64_image(DEB_ARM[:60], at=4096 - 60))
    put("image", "gzip-arm64", gz(arm))
    put("image", "gzip-truncated", gz(arm)[:40])
    put("image", "zboot-gzip", zboot(gz(arm)))
    put("image", "zboot-zstd", zboot(b"\x28\xb5\x2f\xfd" + bytes(60), comp=b"zstd"))
    put("image", "zboot-offset-past-end", zboot(gz(arm), offset=64, size=0x7FFFFFFF)[:600])
    put("image", "pe-only", bytes(b"MZ" + bytes(62)))
    put("image", "empty", b"")


# --- cmdline: /proc/cmdline, then CmdlineAppend=, then CmdlineRemove= ------

def cmdlines():
    put("cmdline", "debian",
        "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=0b3f6f9e-4cc1-4b5a-9e43-1d2c3f4a5b6c "
        "ro quiet\nconsole=ttyS0,115200\nquiet\n")
    put("cmdline", "fedora",
        "BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.5.6-300.fc39.x86_64 root=/dev/mapper/fedora-root ro "
        "rd.lvm.lv=fedora/root rd.luks.uuid=luks-4f1b2c3d-0000-4000-8000-000000000000 rhgb "
        "quiet\nmitigations=off\nrhgb\nquiet\n")
    put("cmdline", "quoted-and-init",
        'initrd=\\initrd.img root=LABEL="my disk" rw init=/bin/sh -- -c "echo a ;b"\n'
        'dyndbg="module e1000e +p"\nroot\n')
    put("cmdline", "dashes-underscores",
        "BOOT-IMAGE=/vmlinuz rcu_nocbs=1-3 rcu-nocbs=2 log_buf_len=1M\n\nrcu-nocbs\n")
    put("cmdline", "unbalanced-quote", 'root=/dev/vda "console=tty0\nsplash\n')
    put("cmdline", "control-and-latin1", "root=/dev/vda label=caf\xe9\x1b[2K\n".encode("latin-1"))
    put("cmdline", "only-init", "-- single\nquiet\n")
    put("cmdline", "empty", "")


# --- config: kexecd.conf and drop-ins ---------------------------------------

def configs():
    with open(os.path.join(HERE, "..", "..", "etc", "kexecd.conf"), "rb") as f:
        put("config", "shipped", f.read())
    put("config", "every-key",
        "[Stage]\nAutoStage=no\nCmdlineAppend=console=ttyS0,115200\nCmdlineAppend=panic=10\n"
        "CmdlineRemove=quiet splash\nRequireInitrd=false\nRequireModules=off\n"
        "SettleDelaySec=0.5\n\n[Reboot]\nUseKexec=yes\n")
    put("config", "comments-and-semicolons",
        "# kexecd.conf.d/50-init.conf\n; old style\n[Stage]\n  # indented comment\n"
        'CmdlineAppend=init=/bin/sh -c "echo a ;b" # not a comment\nCmdlineAppend=\n'
        "CmdlineRemove=quiet ;splash\n")
    put("config", "crlf-bom", "\ufeff[Stage]\r\nAutoStage=yes\r\nSettleDelaySec=3600\r\n")
    put("config", "long-line", "[Stage]\nCmdlineAppend=" + "x" * 190 + " rd.luks.uuid=1\n")
    put("config", "errors",
        "[Stage]\nAutoStage=maybe\n[Stage] trailing\nkey without value\nSettleDelaySec=nan\n")
    put("config", "unknown", "Top=1\n[Bogus]\nKey=1\n[Reboot]\nFast=yes\n[Stage]\nFrobnicate=1\n")
    put("config", "utf8-and-not", "[Stage]\nCmdlineAppend=label=café\n".encode() + b"# caf\xe9\n")
    # Found by fuzz-config: a tab in a bad value reached the error message.
    put("config", "tab-in-bad-value", "[Stage]\nRequireModules=#\toff\n")
    put("config", "controls", b"[Stage]\nCmdlineAppend=a\x00b\x1b[2K\xc2\x85\n")


# --- state: /run/kexecd/state.json --------------------------------------------

def states():
    def state(**kw):
        s = {"format": 1, "version": "6.1.0-13-amd64", "kernel": "/boot/vmlinuz-6.1.0-13-amd64",
             "initrds": ["/boot/intel-ucode.img", "/boot/initrd.img-6.1.0-13-amd64"],
             "cmdline": "root=UUID=0b3f6f9e-4cc1-4b5a-9e43-1d2c3f4a5b6c ro quiet",
             "custom": False, "simulated": False,
             "files": [{"path": "/boot/vmlinuz-6.1.0-13-amd64", "dev": 2049, "ino": 131074,
                        "size": 8193984, "mtime_ns": 1695945600123456789},
                       {"path": "/boot/initrd.img-6.1.0-13-amd64", "dev": 2049, "ino": 131090,
                        "size": 61123456, "mtime_ns": 1700000000000000000}]}
        s.update(kw)
        return json.dumps(s, indent=2) + "\n"
    put("state", "staged", state())
    put("state", "custom-simulated", state(custom=True, simulated=True, initrds=[],
                                           cmdline='root=LABEL="my disk" -- single', files=[]))
    put("state", "unicode", state(version="6.1.0-café", cmdline="label=\u00e9\u2603 \\u0000"))
    put("state", "wrong-types", state(format="1", custom="yes", files={"path": 1}))
    put("state", "big-numbers", state(files=[{"path": "/x", "dev": -1, "ino": 1.5e300,
                                              "size": 18446744073709551615, "mtime_ns": -1}]))
    # Both found by fuzz-state: a float too big for the integer it is read
    # into is undefined behaviour in nlohmann's get<>() (UBSan:
    # float-cast-overflow).
    put("state", "float-size", state(files=[{"path": "/x", "dev": 1, "ino": 2,
                                             "size": 8.193e19, "mtime_ns": 1e19}]))
    put("state", "other-format", state(format=2))
    put("state", "missing-field", '{"format": 1, "version": "6.1"}\n')
    put("state", "truncated", state()[:100])
    put("state", "not-json", "format=1\n")
    put("state", "nested", "[" * 200 + "]" * 200)


# --- text: names and banners from files ---------------------------------------

def texts():
    put("text", "ascii", "vmlinuz-6.1.0-13-amd64")
    put("text", "utf8", "initrd.img-6.1.0-café-\u2603-\U0001F600")
    put("text", "latin1", b"vmlinuz-6.1.0-caf\xe9")
    put("text", "escape-sequence", b"6.1.0\x1b[2K\rforged line\n")
    put("text", "c1-controls", "a\u0085b\u009bc\u00a0d".encode())
    put("text", "overlong-surrogate-max", b"\xc0\xaf \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xf4\x8f\xbf\xbf")
    put("text", "truncated-sequences", b"\xe2\x98 \xf0\x9f\x98 \xc3")
    put("text", "backslashes", "C:\\boot\\vmlinuz \\x41")
    put("text", "nul-del", b"a\x00b\x7fc")


# --- pe: section tables of unified kernel images and add-ons --------------

def pe(sections):
    """A PE32+ EFI application as ukify lays out a UKI (tests/unit/
    pe_builder.hpp builds the same): headers, then each section's data
    padded to FileAlignment, VirtualSize the data's size."""
    file_align, section_align, pe_off = 0x200, 0x1000, 0x80
    align = lambda v, a: (v + a - 1) // a * a
    table = pe_off + 4 + 20 + 240
    headers = align(table + 40 * len(sections), file_align)
    img = bytearray(headers)
    img[0:2] = b"MZ"
    struct.pack_into("<I", img, 0x3C, pe_off)
    stub = b"This program cannot be run in DOS mode.\r\r\n$"
    img[0x4E : 0x4E + len(stub)] = stub
    img[pe_off : pe_off + 4] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", img, pe_off + 4, 0x8664, len(sections), 0, 0, 0, 240, 0x0206)
    rva = section_align
    for i, (name, data) in enumerate(sections):
        data = data.encode() if isinstance(data, str) else data
        at = table + 40 * i
        struct.pack_into("<8sIIII", img, at, name.encode(), len(data), rva,
                         align(len(data), file_align), len(img))
        struct.pack_into("<I", img, at + 36, 0x40000040)  # initialized data, readable
        img += data + bytes(align(len(data), file_align) - len(data))
        rva += align(max(len(data), 1), section_align)
    opt = pe_off + 24
    struct.pack_into("<H", img, opt, 0x20B)  # PE32+
    struct.pack_into("<QII", img, opt + 24, 0x140000000, section_align, file_align)
    struct.pack_into("<IIxxxxH", img, opt + 56, rva, headers, 10)  # EFI application
    struct.pack_into("<I", img, opt + 108, 16)
    return bytes(img)


def pes():
    osrel = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
    kernel = bzimage(DEB_X86, size=1024)
    plain = pe([(".osrel", osrel), (".cmdline", "root=UUID=0b3f6f9e-4cc1-4b5a-9e43-1d2c3f4a5b6c ro quiet"),
                (".uname", "6.1.0-13-amd64"), (".linux", kernel), (".initrd", gz(b"070701" + bytes(120)))])
    put("pe", "uki-plain", plain)
    put("pe", "uki-multi-profile",
        pe([(".osrel", osrel), (".uname", "6.1.0-13-amd64"), (".linux", kernel),
            (".cmdline", "root=/dev/vda ro quiet"),
            (".profile", "ID=default\n"), (".cmdline", "root=/dev/vda ro quiet splash"),
            (".profile", "ID=debug\nTITLE=Debug\n"), (".cmdline", "root=/dev/vda ro debug"),
            (".profile", "ID=empty\n")]))
    put("pe", "addon-cmdline", pe([(".sbat", "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"),
                                   (".cmdline", "console=ttyS0,115200 panic=10")]))
    # Sections past the end of a file cut short while it was written.
    put("pe", "uki-truncated", plain[:0x700])


def etcds():
    """etcd's JSON gateway answers and airlock semaphore values."""
    put("etcd", 'error', '{"error":"etcdserver: request timed out","code":14,"message":"etcdserver: request timed out"}')
    put("etcd", 'range-absent', '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"2","raft_term":"2"}}')
    put("etcd", 'range-held', '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"5","raft_term":"2"},"kvs":[{"key":"Y29tLmNvcmVvcy5haXJsb2NrL2dyb3Vwcy9kZWZhdWx0L3YxL3NlbWFwaG9yZQ==","create_revision":"3","mod_revision":"5","version":"3","value":"eyJ0b3RhbF9zbG90cyI6MiwiaG9sZGVycyI6WyJhIiwiYiJdfQ=="}],"count":"1"}')
    put("etcd", 'semaphore', '{"total_slots":2,"holders":["b","a"]}')
    put("etcd", 'semaphore-null', '{"total_slots":1,"holders":null}')
    put("etcd", 'txn-conflict', '{"header":{"revision":"6"},"responses":[]}')
    put("etcd", 'txn-ok', '{"header":{"revision":"6"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"6"}}}]}')


def main():
    if len(sys.argv) > 1:
        sys.exit("usage: make-corpus.py (writes tests/fuzz/corpus/)")
    images()
    cmdlines()
    configs()
    states()
    texts()
    etcds()
    pes()


if __name__ == "__main__":
    main()
