#pragma once
// Loading a kernel for kexec, behind an interface: the daemon uses the real
// syscall, --simulate and the tests use stand-ins.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fsutil.hpp"
#include "unique_fd.hpp"

namespace kexecd {

// A file handed to the kernel, or a part of one: a section of a unified
// kernel image, which is copied into a sealed memfd first.
struct FilePart {
    std::filesystem::path path;  // host path (root already applied)
    uint64_t offset = 0;
    std::optional<uint64_t> size;  // nullopt: the whole file

    FilePart() = default;
    FilePart(std::filesystem::path p) : path(std::move(p)) {}  // NOLINT: a whole file
    FilePart(std::filesystem::path p, uint64_t off, uint64_t len)
        : path(std::move(p)), offset(off), size(len) {}
    bool whole() const { return !size; }
    bool operator==(const FilePart&) const = default;
    // "/efi/EFI/Linux/x.efi (bytes 4096+1024)" for messages.
    std::string describe() const;
};

struct LoadRequest {
    FilePart kernel;
    std::vector<FilePart> initrds;  // concatenated in this order
    std::string cmdline;
};

class KexecBackend {
  public:
    virtual ~KexecBackend() = default;
    // Throws Error(KexecFailed | Busy) with a message a person can act on.
    virtual void load(const LoadRequest& req) = 0;
    virtual void unload() = 0;
    // Whether a kernel is loaded, as the kernel says.
    virtual bool loaded() = 0;
    virtual bool simulated() const { return false; }
};

// The raw kernel interface, so the tests can stand in for the kernel.
class KexecSyscalls {
  public:
    virtual ~KexecSyscalls() = default;
    // kexec_file_load(2); returns 0 or -errno. cmdline is passed with its NUL.
    virtual int kexecFileLoad(int kernelFd, int initrdFd, const std::string& cmdline,
                              unsigned long flags) = 0;
    // Runs the kexec tool (kexec-tools) for kernels without kexec_file_load;
    // returns its exit status, or -errno when it cannot be started.
    virtual int runKexecTool(const std::vector<std::string>& args,
                             const std::vector<int>& keepFds) = 0;
    // memfd_create(2) for the concatenated initrd; returns an fd or -errno.
    virtual int memfdCreate(const char* name, unsigned flags);
};

// The kernel reads the kernel and the initrd with kernel_read_file(), which
// refuses files of INT_MAX bytes or more; checked before anything is copied,
// so a huge (or sparse) file costs an error, not the daemon's memory.
constexpr int64_t kMaxImageBytes = 0x7fffffff - 1;
constexpr int64_t kMaxInitrdBytes = 0x7fffffff - 1;

constexpr unsigned long kKexecFileUnload = 0x1;
constexpr unsigned long kKexecFileNoInitramfs = 0x4;

// kexec_file_load, falling back to the kexec tool where the kernel lacks it.
// /sys/kernel/kexec_loaded and the lockdown files are read under `root`.
class LinuxKexec final : public KexecBackend {
  public:
    LinuxKexec(Root root, KexecSyscalls& sys) : root_(std::move(root)), sys_(sys) {}
    void load(const LoadRequest& req) override;
    void unload() override;
    bool loaded() override;

  private:
    // `signatureHint` is added where the kernel refused a signature.
    [[noreturn]] void fail(int err, const std::string& what, const char* signatureHint = "");
    Root root_;
    KexecSyscalls& sys_;
};

// --simulate: checks that every file can be read and remembers the request;
// the kernel is never touched.
class SimulatedKexec final : public KexecBackend {
  public:
    void load(const LoadRequest& req) override;
    void unload() override { loaded_ = false; }
    bool loaded() override { return loaded_; }
    bool simulated() const override { return true; }
    // A restarted daemon picks up what it simulated before.
    void restore(bool loaded) { loaded_ = loaded; }

  private:
    bool loaded_ = false;
};

// Opens the initrds and, when there are several or they are parts of files,
// concatenates them into one sealed memfd (kexec_file_load takes a single
// initrd fd). Returns -1 with no initrd. Only regular files are opened, never
// blocking (O_NONBLOCK); their total size is checked against
// kMaxInitrdBytes first. `sys` (nullptr: the real syscall) creates the memfd.
UniqueFd openInitrd(const std::vector<FilePart>& initrds, KexecSyscalls* sys = nullptr);

// A decompressed arm64 Image is 30-70 MB; a stream that inflates past this,
// or takes this long, is not a kernel.
constexpr uint64_t kMaxDecompressedKernel = 512u << 20;
constexpr std::chrono::seconds kDecompressTimeout{60};

struct KernelFd {
    UniqueFd fd;
    bool inMemory = false;  // a sealed memfd: a section, or a decompressed image
};

// Opens the kernel image: the file itself, or its part copied into a sealed
// memfd; a gzip'd or EFI zboot image (arm64) decompressed into one. Throws
// Error(KexecFailed), or NotBootable when it is too large or corrupt.
KernelFd openKernel(const FilePart& kernel, KexecSyscalls* sys = nullptr);

// Opens a kernel image or initrd for loading: regular files only, never
// blocking; throws Error(KexecFailed).
UniqueFd openForLoad(const std::filesystem::path& p);

}  // namespace kexecd
