#pragma once
// Finds the kernels in <root>/boot, for the Debian/Ubuntu, Fedora/RHEL,
// openSUSE and Arch layouts, and the Boot Loader Spec entries and unified
// kernel images on the ESP and XBOOTLDR (mounted at /efi, /boot or
// /boot/efi, as bootctl looks for them), and decides which can be staged.
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fsutil.hpp"
#include "image.hpp"

namespace kexecd {

// Bytes within a file: a section of a unified kernel image or of an add-on.
struct ImageSection {
    uint64_t offset = 0;
    uint64_t size = 0;
    // The file holding it, as the system sees it; "" for the entry's own
    // image (an add-on's sections name the add-on).
    std::string file;
    bool operator==(const ImageSection&) const = default;
};

// One boot entry, wherever it was found: an image file in /boot, a Boot
// Loader Spec entry or a unified kernel image (UKI) on the ESP or XBOOTLDR.
struct Kernel {
    std::string version;               // from the image itself where it can be read
    std::string image;                 // path as the system sees it (/boot/vmlinuz-…, the .efi)
    std::vector<std::string> initrds;  // microcode first
    bool bootable = false;
    std::string reason;  // "" when bootable
    // "boot" (an image file in /boot), "bls" (a Boot Loader Spec Type #1
    // entry), "uki" (a Type #2 unified kernel image).
    std::string source = "boot";
    std::string entry;  // the .conf or .efi as the system sees it; "" for "boot"
    // The command line the entry carries (a UKI's .cmdline with its add-ons',
    // a BLS entry's options); nullopt: derived like a /boot kernel's.
    std::optional<std::string> cmdline;
    // A UKI: its .linux within `image`, and the initrd systemd-stub would
    // hand over, loaded after `initrds`: the add-ons' .ucode, the UKI's
    // .ucode and .initrd, the add-ons' .initrd.
    std::optional<ImageSection> kernelSection;
    std::vector<ImageSection> initrdSections;
};

// What the default profile of a unified kernel image holds (pure; read by
// inspectUki()).
struct UkiContents {
    std::string error;                   // "" when its file can be staged
    std::string version;                 // .uname, else the .linux image's
    bool hasUname = false;               // version came from .uname
    std::optional<std::string> cmdline;  // .cmdline, trailing NULs and space dropped
    ImageSection linux;
    std::vector<ImageSection> initrds;  // .ucode, then .initrd
    bool hasDtb = false;                // .dtb or .dtbauto
    ImageInfo image;                    // what the .linux image says
};

// Reads a UKI's PE section table and the sections kexecd needs. Never throws.
UkiContents inspectUki(int fd);

// What the /boot watch must watch, as the system sees the paths, on every
// place the ESP or XBOOTLDR is mounted: loader/entries, loader/addons and
// EFI/Linux, or where one is missing its nearest parent on that partition
// (so that its creation is seen), and each UKI's <uki>.efi.extra.d. The
// answer changes as those directories come and go: ask again after every
// change.
std::vector<std::string> entryWatchDirs(const Root& root);

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
    // The files listed so far (device, inode): one kernel file is listed once.
    struct Seen {
        std::set<std::pair<dev_t, ino_t>> ids;
    };
    // The ESP's and XBOOTLDR's entries (discovery_esp.cpp): BLS Type #1
    // entries and UKIs, less those whose kernel file is already listed.
    void scanEntries(const DiscoveryOptions& opts, Seen& seen, std::vector<Kernel>& out);
    void addBlsEntries(const DiscoveryOptions& opts, const std::string& mount, Seen& seen,
                       std::vector<Kernel>& out);
    void addUkis(const DiscoveryOptions& opts, const std::string& mount, std::vector<Kernel>& out);
    // What the add-ons of a UKI give it, in systemd-stub's order.
    struct AddOns {
        std::string cmdline;
        std::vector<ImageSection> ucode;    // before the UKI's .ucode
        std::vector<ImageSection> initrds;  // after the UKI's .initrd
        bool dtb = false;
    };
    // Adds what each add-on in `dir` (name order) that fits `uki` gives;
    // returns why the first broken one is broken, or "".
    std::string addAddOns(const std::string& dir, const UkiContents& uki, AddOns& out);
    // Why a UKI cannot be fast-rebooted as systemd-stub would boot it beyond
    // its sections and add-ons ("" if it can): see discovery_esp.cpp.
    // `partitionWide`: what stubOnlyFiles() said of its partition's
    // loader/credentials and loader/extensions.
    std::string stubOnlyParts(const std::string& uki, const std::string& partitionWide,
                              bool hasDtb) const;
    // The first file in those directories with that suffix, as the reason.
    std::string stubOnlyFiles(
        std::initializer_list<std::pair<std::string, std::string_view>> sidecars) const;
    // Why `k` cannot be staged (""), by the rules every kernel follows:
    // readable files, sizes, initrd and modules present.
    std::string entryProblem(const DiscoveryOptions& opts, const Kernel& k, const ImageInfo& info,
                             uint64_t imageBytes);
    bool hasModules(const std::string& version) const;

    // What a UKI's sections say, remembered per file version.
    UkiContents inspectUkiCached(const std::filesystem::path& p, const FileId& id);

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
    std::map<std::string, std::pair<FileId, UkiContents>> ukis_;
};

// The newest bootable kernel, or nullptr.
const Kernel* newestBootable(const std::vector<Kernel>& kernels);

// Text read from a file that D-Bus, the journal and a terminal can show as
// it is: valid UTF-8 without control characters.
bool isPlainText(std::string_view s);
// What a version argument may be (validateVersionArgument()).
bool isVersionText(std::string_view s);

// Whether a file name in /boot is a kernel image kexecd should consider
// (not a rescue image, backup, package manager temp file or checksum).
bool isCandidateImageName(std::string_view name);

}  // namespace kexecd
