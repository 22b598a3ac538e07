#pragma once
// Finds the kernels in <root>/boot, for the Debian/Ubuntu, Fedora/RHEL,
// openSUSE and Arch layouts, and decides which of them can be staged.
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fsutil.hpp"
#include "image.hpp"

namespace kexecd {

struct Kernel {
    std::string version;               // from the image itself where it can be read
    std::string image;                 // path as the system sees it (/boot/vmlinuz-…)
    std::vector<std::string> initrds;  // microcode first
    bool bootable = false;
    std::string reason;  // "" when bootable
};

struct DiscoveryOptions {
    bool requireInitrd = true;
    bool requireModules = true;
};

class Discovery {
  public:
    explicit Discovery(Root root) : root_(std::move(root)) {}

    // Every kernel image found, newest first. Safe to call from any thread.
    std::vector<Kernel> scan(const DiscoveryOptions& opts);

    const Root& root() const { return root_; }

  private:
    // Reading an arm64 image means decompressing tens of MB: remember what
    // each file version said.
    ImageInfo inspectCached(const std::filesystem::path& p, const FileId& id);
    // Whether a file can be opened ("" or why not), asked of the kernel only
    // when the file, its owner or its mode changed: opening every image and
    // initrd on every ListKernels cost two thirds of its syscalls with 500
    // kernels in /boot. `st` is the file's stat (symlinks followed).
    std::string unreadableCached(const std::string& shown, const struct stat& st);

    // What decides whether the daemon may read a file; chmod and chown
    // change its ctime too.
    struct AccessKey {
        FileId id;
        uint32_t mode = 0, uid = 0, gid = 0;
        int64_t ctimeNs = 0;
        bool operator==(const AccessKey&) const = default;
    };

    Root root_;
    std::mutex cacheMutex_;
    std::map<std::string, std::pair<FileId, ImageInfo>> cache_;
    std::map<std::string, std::pair<AccessKey, std::string>> readable_;
};

// The newest bootable kernel, or nullptr.
const Kernel* newestBootable(const std::vector<Kernel>& kernels);

// Whether a file name in /boot is a kernel image kexecd should consider
// (not a rescue image, backup, package manager temp file or checksum).
bool isCandidateImageName(std::string_view name);

}  // namespace kexecd
