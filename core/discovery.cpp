#include "discovery.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "error.hpp"
#include "kexec.hpp"
#include "text.hpp"
#include "version.hpp"

namespace kexecd {

namespace {

constexpr std::string_view kImagePrefixes[] = {"vmlinuz-", "Image-"};

// Temporary, backup and side files package managers and tools leave next to
// kernels.
constexpr std::string_view kSkipSuffixes[] = {
    ".old", ".bak", ".hmac", ".sig", ".tmp", ".new", ".orig", ".rpmnew", ".rpmsave", ".save", "~"};

// GRUB's order: Intel first, then AMD; the kernel uses whichever matches.
constexpr std::string_view kMicrocode[] = {"intel-ucode.img", "amd-ucode.img"};

bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view suffixOf(std::string_view name) {
    for (auto p : kImagePrefixes)
        if (name.substr(0, p.size()) == p) return name.substr(p.size());
    return {};
}

}  // namespace

bool isCandidateImageName(std::string_view name) {
    if (name.empty() || name[0] == '.') return false;
    if (suffixOf(name).empty()) return false;
    if (name.find("-0-rescue-") != std::string_view::npos) return false;
    if (name.find(".dpkg-") != std::string_view::npos) return false;
    for (auto s : kSkipSuffixes)
        if (endsWith(name, s)) return false;
    return true;
}

ImageInfo Discovery::inspectCached(const std::filesystem::path& p, const FileId& id) {
    {
        std::lock_guard lock(cacheMutex_);
        auto it = cache_.find(p.string());
        if (it != cache_.end() && it->second.first == id) return it->second.second;
    }
    ImageInfo info = inspectImage(p);
    std::lock_guard lock(cacheMutex_);
    cache_[p.string()] = {id, info};
    return info;
}

// A name or version read from a file can carry any byte; only what the D-Bus
// API, the journal and a terminal can show unchanged is used as it is.
bool isPlainText(std::string_view s) {
    return isValidUtf8(s) && std::none_of(s.begin(), s.end(), [](char c) {
               auto u = static_cast<unsigned char>(c);
               return u < 0x20 || u == 0x7f;
           });
}

// What validateVersionArgument() accepts: a version that cannot be asked for
// by name cannot be staged by name either.
bool isVersionText(std::string_view s) {
    return !s.empty() && s.size() <= 255 && std::all_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '+' || c == '~';
    });
}

namespace {

// "" when the file can be opened for reading as the daemon runs (the unit
// keeps no CAP_DAC_OVERRIDE), else why not, naming it as the system sees it.
std::string unreadable(const Root& root, const std::string& shown) {
    auto host = root.path(shown);
    try {
        openRegularFile(host);
        return "";
    } catch (const Error& e) {
        std::string msg = e.what();
        if (auto pos = msg.find(host.string()); pos != std::string::npos)
            msg.replace(pos, host.string().size(), shown);
        return msg;
    }
}

}  // namespace

std::string Discovery::unreadableCached(const std::string& shown, const struct stat& st) {
    AccessKey key{fileIdOf(st), static_cast<uint32_t>(st.st_mode), static_cast<uint32_t>(st.st_uid),
                  static_cast<uint32_t>(st.st_gid),
                  static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec};
    {
        std::lock_guard lock(cacheMutex_);
        auto it = readable_.find(shown);
        if (it != readable_.end() && it->second.first == key) return it->second.second;
    }
    std::string problem = unreadable(root_, shown);
    std::lock_guard lock(cacheMutex_);
    readable_[shown] = {key, problem};
    return problem;
}

bool Discovery::hasModules(const std::string& version) const {
    return isDir(root_.path("/lib/modules") / version) ||
           isDir(root_.path("/usr/lib/modules") / version);
}

std::string Discovery::entryProblem(const DiscoveryOptions& opts, const Kernel& k,
                                    const ImageInfo& info, uint64_t imageBytes) {
    if (!info.ok()) return info.error;
    if (!isVersionText(k.version)) return "the image's version string has unexpected characters";
    if (imageBytes > static_cast<uint64_t>(kMaxImageBytes))
        return "image is larger than the 2 GiB the kernel loads";
    uint64_t initrdBytes = 0;
    for (auto& i : k.initrds) {
        struct stat st {};
        if (::stat(root_.path(i).c_str(), &st) < 0 || !S_ISREG(st.st_mode))
            return "initrd " + i + " is missing";
        if (st.st_size == 0) return "initrd " + i + " is empty";
        if (auto why = unreadableCached(i, st); !why.empty()) return why;
        initrdBytes += static_cast<uint64_t>(st.st_size);
    }
    for (auto& sec : k.initrdSections) initrdBytes += sec.size;
    if (k.initrds.empty() && k.initrdSections.empty() && opts.requireInitrd) return "no initrd";
    if (initrdBytes > static_cast<uint64_t>(kMaxInitrdBytes))
        return "initrds are " + std::to_string(initrdBytes >> 20) +
               " MiB together; the kernel loads at most 2 GiB";
    if (opts.requireModules && !hasModules(k.version)) return "no modules directory";
    return "";
}

std::vector<Kernel> Discovery::scan(const DiscoveryOptions& opts) {
    const std::filesystem::path boot = root_.path("/boot");
    std::error_code ec;
    const std::filesystem::path realBoot = std::filesystem::weakly_canonical(boot, ec);

    struct Entry {
        std::string name;
        bool symlink;
        struct stat st;
        std::string problem;  // set: listed, never bootable
    };
    std::vector<Entry> entries;
    for (auto it = std::filesystem::directory_iterator(boot, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!isCandidateImageName(name)) continue;
        // The entry's type comes from readdir (no lstat) where the file
        // system gives it.
        struct stat st {};
        bool symlink = it->is_symlink(ec);
        if (ec || ::stat(it->path().c_str(), &st) < 0) {
            ec.clear();
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue;  // a directory, FIFO or device is no kernel
        Entry e{name, symlink, st, ""};
        if (!isPlainText(name)) {
            e.problem = "file name is not valid UTF-8 or has control characters";
        } else if (e.symlink) {
            auto target = std::filesystem::weakly_canonical(it->path(), ec);
            auto rel = target.lexically_relative(realBoot);
            if (ec || rel.empty() || *rel.begin() == "..")
                e.problem = "symlink to a file outside /boot";
            ec.clear();
        }
        entries.push_back(std::move(e));
    }
    // Real files before symlinks, so that a link to a listed image is the one
    // dropped and the kernel keeps its real file name.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return std::tie(a.symlink, a.name) < std::tie(b.symlink, b.name);
    });

    std::vector<std::string> microcode;
    for (auto m : kMicrocode) {
        struct stat st {};
        if (::stat((boot / m).c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
            microcode.push_back("/boot/" + std::string(m));
    }

    Seen seen;
    std::vector<Kernel> kernels;
    for (auto& e : entries) {
        if (!seen.ids.insert({e.st.st_dev, e.st.st_ino}).second) continue;
        Kernel k;
        if (!e.problem.empty()) {
            k.image = "/boot/" + escapeText(e.name);
            k.version = escapeText(suffixOf(e.name));
            k.reason = e.problem;
            kernels.push_back(std::move(k));
            continue;
        }
        std::string suffix(suffixOf(e.name));
        k.image = "/boot/" + e.name;
        std::string readProblem = unreadableCached(k.image, e.st);
        ImageInfo info = readProblem.empty() ? inspectCached(boot / e.name, fileIdOf(e.st))
                                             : ImageInfo{ImageFormat::Unknown, "", readProblem};

        bool nameIsVersion = looksLikeVersion(suffix);  // else an Arch pkgbase ("linux-lts")
        bool versionOk = info.version.empty() || isVersionText(info.version);
        k.version = !info.version.empty() ? escapeText(info.version) : suffix;

        std::string mainInitrd;
        for (auto cand : {"initrd.img-" + suffix, "initramfs-" + suffix + ".img",
                          "initrd-" + suffix, "initrd-" + suffix + ".img"}) {
            struct stat st {};
            if (::stat((boot / cand).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
                mainInitrd = "/boot/" + cand;
                break;
            }
        }
        k.initrds = microcode;
        if (!mainInitrd.empty()) k.initrds.push_back(mainInitrd);

        // Beyond the rules every entry follows, a /boot file's name must
        // agree with its image, and microcode alone is no initrd.
        if (info.ok() && versionOk && nameIsVersion && info.version != suffix) {
            k.reason =
                "version mismatch: file name says " + suffix + ", image says " + info.version;
        } else if (info.ok() && versionOk && mainInitrd.empty() && opts.requireInitrd) {
            k.reason = "no initrd";
        } else {
            k.reason = entryProblem(opts, k, info, static_cast<uint64_t>(e.st.st_size));
        }
        k.bootable = k.reason.empty();
        kernels.push_back(std::move(k));
    }

    scanEntries(opts, seen, kernels);

    // One version found twice: a UKI before a BLS entry before a /boot file,
    // as a UEFI machine's boot menu (systemd-boot) lists them.
    auto rank = [](const Kernel& k) { return k.source == "uki" ? 0 : k.source == "bls" ? 1 : 2; };
    std::sort(kernels.begin(), kernels.end(), [&](const Kernel& a, const Kernel& b) {
        if (int c = compareVersions(a.version, b.version); c != 0) return c > 0;
        if (a.bootable != b.bootable) return a.bootable;
        if (rank(a) != rank(b)) return rank(a) < rank(b);
        return a.image < b.image;
    });
    return kernels;
}

const Kernel* newestBootable(const std::vector<Kernel>& kernels) {
    for (auto& k : kernels)
        if (k.bootable) return &k;
    return nullptr;
}

}  // namespace kexecd
