#include "discovery.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <set>

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

bool isDir(const std::filesystem::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
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

std::vector<Kernel> Discovery::scan(const DiscoveryOptions& opts) {
    const std::filesystem::path boot = root_.path("/boot");

    struct Entry {
        std::string name;
        bool symlink;
        struct stat st;
    };
    std::vector<Entry> entries;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(boot, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!isCandidateImageName(name)) continue;
        struct stat lst {
        }, st{};
        if (::lstat(it->path().c_str(), &lst) < 0 || ::stat(it->path().c_str(), &st) < 0) continue;
        if (!S_ISREG(st.st_mode)) continue;
        entries.push_back({name, S_ISLNK(lst.st_mode), st});
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

    std::set<std::pair<dev_t, ino_t>> seen;
    std::vector<Kernel> kernels;
    for (auto& e : entries) {
        if (!seen.insert({e.st.st_dev, e.st.st_ino}).second) continue;
        std::string suffix(suffixOf(e.name));
        ImageInfo info = inspectCached(boot / e.name, fileIdOf(e.st));

        Kernel k;
        k.image = "/boot/" + e.name;
        bool nameIsVersion = looksLikeVersion(suffix);  // else an Arch pkgbase ("linux-lts")
        k.version = !info.version.empty() ? info.version : suffix;

        std::string mainInitrd;
        bool emptyInitrd = false;
        for (auto cand : {"initrd.img-" + suffix, "initramfs-" + suffix + ".img",
                          "initrd-" + suffix, "initrd-" + suffix + ".img"}) {
            struct stat st {};
            if (::stat((boot / cand).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
                mainInitrd = "/boot/" + cand;
                emptyInitrd = st.st_size == 0;
                break;
            }
        }
        k.initrds = microcode;
        if (!mainInitrd.empty()) k.initrds.push_back(mainInitrd);

        if (!info.ok()) {
            k.reason = info.error;
        } else if (nameIsVersion && info.version != suffix) {
            k.reason =
                "version mismatch: file name says " + suffix + ", image says " + info.version;
        } else if (emptyInitrd) {
            k.reason = "initrd " + mainInitrd + " is empty";
        } else if (mainInitrd.empty() && opts.requireInitrd) {
            k.reason = "no initrd";
        } else if (opts.requireModules && !isDir(root_.path("/lib/modules") / k.version) &&
                   !isDir(root_.path("/usr/lib/modules") / k.version)) {
            k.reason = "no modules directory";
        }
        k.bootable = k.reason.empty();
        kernels.push_back(std::move(k));
    }

    std::sort(kernels.begin(), kernels.end(), [](const Kernel& a, const Kernel& b) {
        if (int c = compareVersions(a.version, b.version); c != 0) return c > 0;
        if (a.bootable != b.bootable) return a.bootable;
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
