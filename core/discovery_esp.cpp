// Boot entries beyond /boot's image files: Boot Loader Spec Type #1 entries
// (loader/entries/*.conf) and Type #2 unified kernel images (EFI/Linux/*.efi)
// on the ESP and XBOOTLDR, as systemd-boot finds and boots them.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <set>

#include "bls.hpp"
#include "discovery.hpp"
#include "error.hpp"
#include "pe.hpp"
#include "text.hpp"

namespace kexecd {

namespace {

// Where bootctl looks for the ESP and XBOOTLDR.
constexpr std::string_view kPartitions[] = {"/efi", "/boot", "/boot/efi"};

// Far above any kernel's COMMAND_LINE_SIZE; the kernel refuses what is too
// long for it at staging, with its own error.
constexpr uint64_t kMaxCmdlineBytes = 64 << 10;
constexpr uint64_t kMaxUnameBytes = 256;
constexpr size_t kMaxEntryBytes = 64 << 10;

#if defined(__x86_64__)
constexpr std::string_view kEfiArch = "x64";
#elif defined(__aarch64__)
constexpr std::string_view kEfiArch = "aa64";
#else
constexpr std::string_view kEfiArch = "";
#endif

// Regular files (symlinks followed) in `dir` whose names end in `suffix`
// (case-insensitive: the ESP is FAT), sorted; dot files left out.
std::vector<std::string> filesEnding(const std::filesystem::path& dir, std::string_view suffix) {
    std::vector<std::string> names;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::string n = it->path().filename().string();
        if (n[0] == '.' || !hasSuffixNoCase(n, suffix)) continue;
        struct stat st {};
        if (::stat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool preadExact(int fd, std::string& out, uint64_t offset, uint64_t size) {
    out.resize(size);
    size_t got = 0;
    return preadFull(fd, out.data(), size, offset, &got) && got == size;
}

// A text section as systemd-stub uses it: up to the first NUL, trailing
// whitespace dropped.
std::string trimmed(std::string s) {
    s = s.substr(0, s.find('\0'));
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

struct PeText {
    std::vector<PeSection> sections;  // the default profile's
    std::string error;
};

PeText readPe(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) return {{}, "cannot read it: " + errnoText(errno)};
    std::string head;
    auto size = static_cast<uint64_t>(st.st_size);
    if (!preadExact(fd, head, 0, std::min<uint64_t>(size, kPeHeadBytes)))
        return {{}, "cannot read it: " + errnoText(errno)};
    PeSections pe = parsePeSections(head, size);
    if (!pe.ok()) return {{}, pe.error};
    return {defaultProfileSections(pe.sections), ""};
}

// The text of section `name`: nullopt when absent, error set when unreadable,
// too large or not plain text.
std::optional<std::string> readText(int fd, const std::vector<PeSection>& secs,
                                    std::string_view name, uint64_t limit, std::string* error) {
    const PeSection* s = findSection(secs, name);
    if (!s) return std::nullopt;
    std::string data;
    if (s->size > limit) {
        *error = "its " + std::string(name) + " section is larger than " +
                 std::to_string(limit >> 10) + " KiB";
    } else if (!preadExact(fd, data, s->offset, s->size)) {
        *error = "cannot read its " + std::string(name) + " section: " + errnoText(errno);
    } else if (data = trimmed(std::move(data)); !isPlainText(data)) {
        *error =
            "its " + std::string(name) + " section is not valid UTF-8 or has control characters";
    }
    return data;
}

}  // namespace

UkiContents inspectUki(int fd) {
    UkiContents u;
    PeText pe = readPe(fd);
    if (!pe.error.empty()) {
        u.error = "not a unified kernel image: " + pe.error;
        return u;
    }
    const PeSection* linux = findSection(pe.sections, ".linux");
    if (!linux || linux->size == 0) {
        u.error = "not a unified kernel image: no .linux section";
        return u;
    }
    u.linux = {linux->offset, linux->size, ""};
    u.image = inspectImageRange(fd, linux->offset, linux->size);
    for (auto name : {".ucode", ".initrd"})
        if (const PeSection* s = findSection(pe.sections, name); s && s->size)
            u.initrds.push_back({s->offset, s->size, ""});
    u.hasDtb = findSection(pe.sections, ".dtb") || findSection(pe.sections, ".dtbauto");

    std::string error;
    auto uname = readText(fd, pe.sections, ".uname", kMaxUnameBytes, &error);
    u.cmdline = readText(fd, pe.sections, ".cmdline", kMaxCmdlineBytes, &error);
    if (!error.empty()) {
        u.error = error;
        u.cmdline.reset();
        return u;
    }
    u.hasUname = uname && !uname->empty();
    u.version = u.hasUname ? *uname : u.image.version;
    if (uname && !uname->empty() && !u.image.version.empty() && *uname != u.image.version)
        u.error =
            "version mismatch: .uname says " + *uname + ", the kernel says " + u.image.version;
    return u;
}

std::string Discovery::addAddOns(const std::string& dir, const UkiContents& uki, AddOns& out) {
    std::string firstError;
    for (auto& a : filesEnding(root_.path(dir), ".addon.efi")) {
        const std::string file = dir + "/" + a;
        std::string why;
        std::optional<std::string> c, uname;
        std::vector<PeSection> secs;
        try {
            UniqueFd fd = openRegularFile(root_.path(file));
            PeText pe = readPe(fd.get());
            why = pe.error;
            secs = std::move(pe.sections);
            if (why.empty()) {
                uname = readText(fd.get(), secs, ".uname", kMaxUnameBytes, &why);
                c = readText(fd.get(), secs, ".cmdline", kMaxCmdlineBytes, &why);
            }
        } catch (const Error& e) {
            why = e.what();
        }
        if (!why.empty()) {
            if (firstError.empty()) firstError = "add-on " + escapeText(file) + ": " + why;
            continue;
        }
        // systemd-stub ignores an add-on built for another kernel, and one
        // that is a UKI itself.
        if (uki.hasUname && uname && !uname->empty() && *uname != uki.version) continue;
        if (findSection(secs, ".linux")) continue;
        if (c && !c->empty()) out.cmdline += (out.cmdline.empty() ? "" : " ") + *c;
        if (auto* s = findSection(secs, ".ucode"); s && s->size)
            out.ucode.push_back({s->offset, s->size, file});
        if (auto* s = findSection(secs, ".initrd"); s && s->size)
            out.initrds.push_back({s->offset, s->size, file});
        if (findSection(secs, ".dtb") || findSection(secs, ".dtbauto")) out.dtb = true;
    }
    return firstError;
}

// What systemd-stub adds at boot that kexec cannot give the next kernel as
// it would: a fast reboot would boot without it, so the UKI is left to the
// firmware. Credentials and system/configuration extensions are packed by
// the stub into initrds of its own; a device tree is installed into the
// firmware's tables, where kexec_file_load on arm64 passes the running one.
// `sidecars`: pairs of a directory and a file suffix.
std::string Discovery::stubOnlyFiles(
    std::initializer_list<std::pair<std::string, std::string_view>> sidecars) const {
    for (auto& [dir, suffix] : sidecars) {
        auto files = filesEnding(root_.path(dir), suffix);
        if (!files.empty())
            return "systemd-stub would pass " + escapeText(dir + "/" + files.front()) +
                   " to the kernel in an initrd of its own, which kexecd does not build";
    }
    return "";
}

std::string Discovery::stubOnlyParts(const std::string& uki, const std::string& partitionWide,
                                     bool hasDtb) const {
    const std::string extra = uki + ".extra.d";
    if (auto why = stubOnlyFiles({{extra, ".cred"}, {extra, ".raw"}}); !why.empty()) return why;
    if (!partitionWide.empty()) return partitionWide;
    if (hasDtb && kEfiArch == "aa64")
        return "it carries a device tree (.dtb), which systemd-stub installs and kexec cannot "
               "hand over";
    return "";
}

std::vector<std::string> entryWatchDirs(const Root& root) {
    std::vector<std::string> dirs;
    auto isDirAt = [&](const std::string& d) { return isDir(root.path(d)); };
    auto add = [&](const std::string& d) {
        if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
    };
    for (auto m : kPartitions) {
        const std::string part(m);
        if (!isDirAt(part)) continue;
        for (auto sub : {"/loader/entries", "/loader/addons", "/loader/credentials",
                         "/loader/extensions", "/EFI/Linux"}) {
            // kernel-install creates EFI/Linux with the first UKI: watch the
            // nearest parent there is, within the partition, to see it come.
            std::string d = part + sub;
            while (d != part && !isDirAt(d)) d = d.substr(0, d.rfind('/'));
            add(d);
        }
        const std::string linux = part + "/EFI/Linux";
        for (auto& uki : filesEnding(root.path(linux), ".efi"))
            if (isDirAt(linux + "/" + uki + ".extra.d")) add(linux + "/" + uki + ".extra.d");
    }
    return dirs;
}

UkiContents Discovery::inspectUkiCached(const std::filesystem::path& p, const FileId& id) {
    {
        std::lock_guard lock(cacheMutex_);
        auto it = ukis_.find(p.string());
        if (it != ukis_.end() && it->second.first == id) return it->second.second;
    }
    UkiContents u;
    try {
        UniqueFd fd = openRegularFile(p);
        u = inspectUki(fd.get());
    } catch (const Error& e) {
        u.error = e.what();
    }
    std::lock_guard lock(cacheMutex_);
    ukis_[p.string()] = {id, u};
    return u;
}

void Discovery::scanEntries(const DiscoveryOptions& opts, Seen& seen, std::vector<Kernel>& out) {
    std::set<std::pair<dev_t, ino_t>> mounts;
    for (auto m : kPartitions) {
        struct stat st {};
        if (::stat(root_.path(std::string(m)).c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
        // /efi is often a symlink to /boot/efi: one partition, read once.
        if (!mounts.insert({st.st_dev, st.st_ino}).second) continue;
        addBlsEntries(opts, std::string(m), seen, out);
        addUkis(opts, std::string(m), out);
    }
}

void Discovery::addBlsEntries(const DiscoveryOptions& opts, const std::string& mount, Seen& seen,
                              std::vector<Kernel>& out) {
    const std::string dir = mount + "/loader/entries";
    for (auto& name : filesEnding(root_.path(dir), ".conf")) {
        Kernel k;
        k.source = "bls";
        k.entry = dir + "/" + escapeText(name);
        std::optional<std::string> text;
        try {
            text = readSmallFile(root_.path(dir) / name, kMaxEntryBytes);
        } catch (const Error& e) {
            k.reason = e.what();
        }
        BlsEntry e = text ? parseBlsEntry(*text) : BlsEntry{};
        if (text && e.linux.empty()) continue;  // an entry for an EFI program, not Linux
        if (!e.architecture.empty() && !kEfiArch.empty() && e.architecture != kEfiArch) continue;
        if (!isPlainText(name)) k.reason = "file name is not valid UTF-8 or has control characters";
        auto relative = std::filesystem::path(e.linux).relative_path().lexically_normal();
        if (k.reason.empty() && (relative.empty() || *relative.begin() == ".."))
            k.reason = "its linux path leaves the partition";
        k.image = mount + "/" + escapeText(relative.string());
        for (auto& i : e.initrds) {
            auto r = std::filesystem::path(i).relative_path().lexically_normal();
            if (k.reason.empty() && (r.empty() || *r.begin() == ".."))
                k.reason = "its initrd path leaves the partition";
            k.initrds.push_back(mount + "/" + escapeText(r.string()));
        }
        k.version = escapeText(e.version);
        if (!k.reason.empty()) {
            out.push_back(std::move(k));
            continue;
        }

        struct stat st {};
        ImageInfo info{ImageFormat::Unknown, "", ""};
        if (::stat(root_.path(k.image).c_str(), &st) < 0 || !S_ISREG(st.st_mode)) {
            info.error = "its kernel " + k.image + " is missing";
        } else if (!seen.ids.insert({st.st_dev, st.st_ino}).second) {
            continue;  // Fedora's entries name /boot's own files: listed already
        } else if (auto why = unreadableCached(k.image, st); !why.empty()) {
            info.error = why;
        } else {
            info = inspectCached(root_.path(k.image), fileIdOf(st));
        }
        if (k.version.empty()) k.version = escapeText(info.version);
        if (info.ok() && !e.version.empty() && e.version != info.version)
            info.error = "version mismatch: the entry says " + escapeText(e.version) +
                         ", the image says " + escapeText(info.version);
        // GRUB's blscfg expands $kernelopts; the boot loader's view of the
        // entry (CmdlineSource=bootloader) handles that. No options: derived.
        if (!e.options.empty() && e.options.find('$') == std::string::npos) {
            if (isPlainText(e.options))
                k.cmdline = e.options;
            else if (info.ok())
                info.error = "its options are not valid UTF-8 or have control characters";
        }
        k.reason = entryProblem(opts, k, info, static_cast<uint64_t>(st.st_size));
        k.bootable = k.reason.empty();
        out.push_back(std::move(k));
    }
}

void Discovery::addUkis(const DiscoveryOptions& opts, const std::string& mount,
                        std::vector<Kernel>& out) {
    const std::string dir = mount + "/EFI/Linux";
    // The partition's credentials and extensions, asked once for all its UKIs.
    const std::string partitionWide = stubOnlyFiles(
        {{mount + "/loader/credentials", ".cred"}, {mount + "/loader/extensions", ".raw"}});
    for (auto& name : filesEnding(root_.path(dir), ".efi")) {
        Kernel k;
        k.source = "uki";
        k.image = k.entry = dir + "/" + escapeText(name);
        k.version = escapeText(name.substr(0, name.size() - 4));
        struct stat st {};
        if (!isPlainText(name)) {
            k.reason = "file name is not valid UTF-8 or has control characters";
        } else if (::stat(root_.path(k.image).c_str(), &st) < 0) {
            k.reason = "cannot read it: " + errnoText(errno);
        } else if (auto why = unreadableCached(k.image, st); !why.empty()) {
            k.reason = why;
        }
        if (!k.reason.empty()) {
            out.push_back(std::move(k));
            continue;
        }
        UkiContents u = inspectUkiCached(root_.path(k.image), fileIdOf(st));
        if (!u.version.empty()) k.version = escapeText(u.version);
        k.kernelSection = u.linux;
        // Add-ons as systemd-stub takes them: the partition's global ones
        // (loader/addons), then the UKI's own, each directory in name order.
        // Their .cmdline extends the UKI's; without a .cmdline the command
        // line is derived (the running one already carries what add-ons gave
        // this boot). Their microcode comes first in the initrd, and their
        // .initrd last.
        AddOns addOns;
        std::string addonError;
        for (auto& addons : {mount + "/loader/addons", dir + "/" + name + ".extra.d"})
            if (auto e = addAddOns(addons, u, addOns); addonError.empty()) addonError = e;
        if (u.cmdline)
            k.cmdline = addOns.cmdline.empty() ? *u.cmdline
                        : u.cmdline->empty()   ? addOns.cmdline
                                               : *u.cmdline + " " + addOns.cmdline;
        k.initrdSections = addOns.ucode;
        k.initrdSections.insert(k.initrdSections.end(), u.initrds.begin(), u.initrds.end());
        k.initrdSections.insert(k.initrdSections.end(), addOns.initrds.begin(),
                                addOns.initrds.end());
        ImageInfo info = u.image;
        if (!u.error.empty())
            info.error = u.error;
        else if (!addonError.empty())
            info.error = addonError;
        else
            info.error = stubOnlyParts(dir + "/" + name, partitionWide, u.hasDtb || addOns.dtb);
        k.reason = entryProblem(opts, k, info, u.linux.size);
        k.bootable = k.reason.empty();
        out.push_back(std::move(k));
    }
}

}  // namespace kexecd
