#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "decompress.hpp"
#include "error.hpp"
#include "kexec.hpp"
#include "log.hpp"
#include "unique_fd.hpp"

namespace kexecd {

namespace {

bool fileSays(const Root& root, const char* path, std::string_view needle) {
    try {
        auto s = readSmallFile(root.path(path));
        return s && s->find(needle) != std::string::npos;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

int KexecSyscalls::memfdCreate(const char* name, unsigned flags) {
    int fd = ::memfd_create(name, flags);
    return fd < 0 ? -errno : fd;
}

UniqueFd openForLoad(const std::filesystem::path& p) {
    try {
        return openRegularFile(p);
    } catch (const Error& e) {
        throw Error(ErrorCode::KexecFailed, e.what());
    }
}

std::string FilePart::describe() const {
    if (whole()) return path.string();
    return path.string() + " (bytes " + std::to_string(offset) + "+" + std::to_string(*size) + ")";
}

namespace {

struct OpenPart {
    UniqueFd fd;
    uint64_t offset = 0, size = 0;
    bool whole = true;
};

// Opens each part and checks that it lies within its file; the total against
// `limit` before anything is copied.
std::vector<OpenPart> openParts(const std::vector<FilePart>& parts, int64_t limit,
                                const char* what) {
    std::vector<OpenPart> out;
    uint64_t total = 0;
    for (auto& p : parts) {
        OpenPart o{openForLoad(p.path), p.offset, 0, p.whole()};
        struct stat st {};
        if (::fstat(o.fd.get(), &st) < 0)
            throw Error(ErrorCode::KexecFailed,
                        "cannot stat " + p.path.string() + ": " + errnoText(errno));
        auto fileSize = static_cast<uint64_t>(st.st_size);
        o.size = p.size.value_or(fileSize);
        if (o.offset > fileSize || o.size > fileSize - o.offset)
            throw Error(ErrorCode::KexecFailed,
                        p.describe() +
                            " ends past the end of the file; it changed since it "
                            "was read: try again");
        total += o.size;
        if (total > static_cast<uint64_t>(limit))
            throw Error(ErrorCode::NotBootable,
                        std::string("the ") + what + " is " + std::to_string(total >> 20) +
                            " MiB or more; the kernel loads at most 2 GiB (" + p.describe() + ")");
        out.push_back(std::move(o));
    }
    return out;
}

// A memfd that can be sealed, for `what` ("kernel", "initrd").
UniqueFd sealableMemfd(const char* memfdName, const char* what, KexecSyscalls* sys) {
    int memfd = sys ? sys->memfdCreate(memfdName, MFD_CLOEXEC | MFD_ALLOW_SEALING)
                    : ::memfd_create(memfdName, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (memfd < 0 && !sys) memfd = -errno;
    if (memfd < 0)
        throw Error(ErrorCode::KexecFailed, std::string("cannot create a memfd for the ") + what +
                                                ": " + errnoText(-memfd));
    return UniqueFd(memfd);
}

// What is handed to the kernel cannot change under it.
void sealForGood(int fd) {
    ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
}

// Copies the parts, in order, into one sealed memfd.
UniqueFd copyToMemfd(std::vector<OpenPart>& parts, const std::vector<FilePart>& names,
                     const char* memfdName, const char* what, KexecSyscalls* sys) {
    UniqueFd mem = sealableMemfd(memfdName, what, sys);
    for (size_t i = 0; i < parts.size(); ++i) {
        // Exactly the size checked before: a file growing while it is
        // copied cannot grow the copy.
        int rc = copyRange(mem.get(), parts[i].fd.get(), parts[i].offset, parts[i].size);
        if (rc == -ENODATA)
            throw Error(ErrorCode::KexecFailed,
                        names[i].describe() + " shrank while it was read; try again");
        if (rc < 0)
            throw Error(ErrorCode::KexecFailed,
                        "cannot copy " + names[i].describe() + " into memory: " + errnoText(-rc));
    }
    sealForGood(mem.get());
    return mem;
}

}  // namespace

UniqueFd openInitrd(const std::vector<FilePart>& initrds, KexecSyscalls* sys) {
    if (initrds.empty()) return UniqueFd();
    auto parts = openParts(initrds, kMaxInitrdBytes, "initrd");
    if (parts.size() == 1 && parts.front().whole) return std::move(parts.front().fd);
    return copyToMemfd(parts, initrds, "kexecd-initrd", "initrd", sys);
}

KernelFd openKernel(const FilePart& kernel, KexecSyscalls* sys) {
    KernelFd k;
    if (kernel.whole()) {
        k.fd = openForLoad(kernel.path);
    } else {
        auto parts = openParts({kernel}, kMaxImageBytes, "kernel image");
        k.fd = copyToMemfd(parts, {kernel}, "kexecd-kernel", "kernel", sys);
        k.inMemory = true;
    }
    // arm64 loads only a plain Image: a gzip'd one or an EFI zboot file is
    // decompressed into memory first (the file on disk stays what
    // --verify-staged compares).
    std::string head(64, '\0');
    ssize_t n = ::pread(k.fd.get(), head.data(), head.size(), 0);
    struct stat st {};
    if (n < 0 || ::fstat(k.fd.get(), &st) < 0)
        throw Error(ErrorCode::KexecFailed,
                    "cannot read " + kernel.describe() + ": " + errnoText(errno));
    head.resize(static_cast<size_t>(n));
    CompressedKernel c = findCompressedKernel(head, static_cast<uint64_t>(st.st_size));
    if (c.kind == Compression::None) return k;

    UniqueFd mem = sealableMemfd("kexecd-kernel", "kernel", sys);
    std::string writeError;
    uint64_t written = 0;
    std::string error = decompressKernel(
        k.fd.get(), c, kMaxDecompressedKernel,
        std::chrono::steady_clock::now() + kDecompressTimeout, [&](std::string_view chunk) {
            while (!chunk.empty()) {
                ssize_t w = ::write(mem.get(), chunk.data(), chunk.size());
                if (w < 0 && errno == EINTR) continue;
                if (w < 0) {
                    writeError =
                        "cannot hold the decompressed kernel in memory: " + errnoText(errno);
                    return false;
                }
                chunk.remove_prefix(static_cast<size_t>(w));
                written += static_cast<uint64_t>(w);
            }
            return true;
        });
    if (!writeError.empty()) throw Error(ErrorCode::KexecFailed, writeError);
    if (!error.empty()) throw Error(ErrorCode::NotBootable, kernel.describe() + ": " + error);
    sealForGood(mem.get());
    // Said once per load, so the journal shows which image kexec got.
    log::info("{}: {} image, decompressed into memory ({} bytes)", kernel.describe(),
              c.zboot                       ? "EFI zboot"
              : c.kind == Compression::Gzip ? "gzip"
                                            : "zstd",
              written);
    k.fd = std::move(mem);
    k.inMemory = true;
    return k;
}

void LinuxKexec::fail(int err, const std::string& what, const char* signatureHint) {
    std::string msg = what + ": ";
    ErrorCode code = ErrorCode::KexecFailed;
    switch (err) {
        case EPERM:
            if (fileSays(root_, "/proc/sys/kernel/kexec_load_disabled", "1"))
                msg += "kexec is disabled until the next reboot (kernel.kexec_load_disabled=1)";
            else if (fileSays(root_, "/sys/kernel/security/lockdown", "[integrity]") ||
                     fileSays(root_, "/sys/kernel/security/lockdown", "[confidentiality]"))
                msg += std::string(
                           "the kernel is locked down (Secure Boot) and refused the image; only "
                           "a kernel signed with a key the running kernel trusts can be staged") +
                       signatureHint;
            else
                msg +=
                    "permission denied; staging needs CAP_SYS_BOOT (run kexecd as root), or "
                    "the kernel's lockdown or signature policy refused the image";
            break;
        case EKEYREJECTED:
        case ENOKEY:
        case EBADMSG:
        case ENODATA:
            msg += std::string(
                       "the kernel rejected the image's signature (Secure Boot / KEXEC_SIG); "
                       "stage a kernel signed with a key the running kernel trusts") +
                   signatureHint;
            break;
        case ENOMEM:
            msg += "not enough memory to hold the kernel and initrd";
            break;
        case EBUSY:
            code = ErrorCode::Busy;
            msg += "another kexec load is in progress; try again";
            break;
        case ENOEXEC:
            msg += "the running kernel cannot boot this image format";
            break;
        case EINVAL:
            msg += "the running kernel rejected the request as invalid (" + errnoText(err) + ")";
            break;
        default:
            msg += errnoText(err);
    }
    throw Error(code, msg);
}

void LinuxKexec::load(const LoadRequest& req) {
    KernelFd k = openKernel(req.kernel, &sys_);
    UniqueFd& kernel = k.fd;
    UniqueFd initrd = openInitrd(req.initrds, &sys_);
    unsigned long flags = initrd ? 0 : kKexecFileNoInitramfs;

    int rc = sys_.kexecFileLoad(kernel.get(), initrd.get(), req.cmdline, flags);
    if (rc == 0) return;
    if (rc != -ENOSYS && req.kernel.whole())
        fail(-rc, "kexec_file_load of " + req.kernel.path.string() + " failed");
    if (rc != -ENOSYS)
        fail(-rc, "kexec_file_load of the kernel inside " + req.kernel.path.string() + " failed",
             // A UKI is signed as a whole, for the firmware; kexec_file_load
             // checks the kernel inside it, which needs a signature of its own.
             " (a unified kernel image is signed as a whole; the kernel in its .linux section "
             "must carry a valid signature of its own)");

    // No CONFIG_KEXEC_FILE: the older kexec_load, through kexec-tools.
    std::vector<int> keep;
    std::string kernelPath = req.kernel.path.string();
    if (k.inMemory) {
        kernelPath = "/proc/self/fd/" + std::to_string(kernel.get());
        keep.push_back(kernel.get());
    }
    std::vector<std::string> args = {"-l", kernelPath, "--command-line=" + req.cmdline};
    if (initrd) {
        args.push_back("--initrd=/proc/self/fd/" + std::to_string(initrd.get()));
        keep.push_back(initrd.get());
    }
    int st = sys_.runKexecTool(args, keep);
    if (st == -ENOENT)
        throw Error(ErrorCode::KexecFailed,
                    "this kernel has no kexec_file_load (CONFIG_KEXEC_FILE) and the kexec tool "
                    "is not installed; install kexec-tools");
    if (st < 0) fail(-st, "cannot run kexec");
    if (st != 0)
        throw Error(ErrorCode::KexecFailed,
                    "kexec -l failed with status " + std::to_string(st) + " (see the journal)");
}

void LinuxKexec::unload() {
    int rc = sys_.kexecFileLoad(-1, -1, "", kKexecFileUnload);
    if (rc == 0) return;
    if (rc != -ENOSYS) fail(-rc, "unloading the staged kernel failed");
    int st = sys_.runKexecTool({"-u"}, {});
    if (st != 0)
        throw Error(ErrorCode::KexecFailed,
                    st == -ENOENT ? "cannot unload: no kexec_file_load and no kexec tool"
                                  : "kexec -u failed with status " + std::to_string(st));
}

bool LinuxKexec::loaded() {
    try {
        auto s = readSmallFile(root_.path("/sys/kernel/kexec_loaded"));
        return s && !s->empty() && (*s)[0] == '1';
    } catch (const Error&) {
        return false;
    }
}

void SimulatedKexec::load(const LoadRequest& req) {
    // Same checks the real path does before the syscall, so that a
    // simulated stage fails where a real one would fail for missing files.
    openKernel(req.kernel);
    openInitrd(req.initrds);
    loaded_ = true;
}

}  // namespace kexecd
