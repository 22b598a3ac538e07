#include "bootloader.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "bls.hpp"
#include "cmdline.hpp"
#include "efivars.hpp"
#include "error.hpp"
#include "grub_cfg.hpp"
#include "text.hpp"
#include "version.hpp"

namespace kexecd {

namespace {

constexpr size_t kMaxConfigBytes = 4 << 20;

std::optional<std::string> readOptional(const Root& root, const std::string& path,
                                        std::vector<std::string>* warnings) {
    try {
        return readSmallFile(root.path(path), kMaxConfigBytes);
    } catch (const Error& e) {
        warnings->push_back(std::string("ignoring ") + path + ": " + e.what());
        return std::nullopt;
    }
}

std::string joinWords(const std::vector<std::string>& words) {
    std::string out;
    for (auto& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
}

std::map<std::string, std::string> grubEnv(const Root& root, const std::string& dir,
                                           std::vector<std::string>* warnings) {
    auto text = readOptional(root, dir + "/grubenv", warnings);
    return text ? parseGrubEnv(*text) : std::map<std::string, std::string>{};
}

// /boot/loader/entries and the ESP's, with the entry's id (file name less
// .conf) and its parsed contents; sorted as the loaders do, newest first.
struct LoadedEntry {
    std::string id;
    BlsEntry entry;
};

std::vector<LoadedEntry> readBlsEntries(const Root& root, std::string* where,
                                        std::vector<std::string>* warnings) {
    std::vector<LoadedEntry> out;
    for (auto dir : {"/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries"}) {
        std::error_code ec;
        std::vector<std::string> names;
        for (auto it = std::filesystem::directory_iterator(root.path(dir), ec);
             !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
            std::string n = it->path().filename().string();
            if (n.size() > 5 && n.substr(n.size() - 5) == ".conf" && n[0] != '.')
                names.push_back(n);
        }
        for (auto& n : names) {
            auto text = readOptional(root, std::string(dir) + "/" + n, warnings);
            if (!text) continue;
            out.push_back({n.substr(0, n.size() - 5), parseBlsEntry(*text)});
        }
        if (!names.empty() && where->empty()) *where = dir;
    }
    std::sort(out.begin(), out.end(), [](const LoadedEntry& a, const LoadedEntry& b) {
        const auto& va = a.entry.version.empty() ? a.id : a.entry.version;
        const auto& vb = b.entry.version.empty() ? b.id : b.entry.version;
        if (int c = compareVersions(va, vb)) return c > 0;
        return a.id > b.id;
    });
    return out;
}

void fromGrub(const Root& root, const std::string& dir, const std::string& text,
              BootLoaderView* v) {
    GrubConfig cfg = parseGrubCfg(text);
    auto env = grubEnv(root, dir, &v->warnings);
    if (cfg.blscfg) return;  // the caller reads the entries
    v->kind = "grub";
    v->where = dir + "/grub.cfg";
    for (const GrubItem* e : grubEntries(cfg)) {
        BootEntryConfig c{e->title, grubKernelSuffix(e->kernel), e->args, e->recovery};
        if (c.suffix.empty()) continue;
        for (auto& var : e->variables)
            v->warnings.push_back(v->where + ": dropped " + escapeText(var) + " from \"" +
                                  escapeText(e->title) + "\": GRUB sets it at boot");
        v->entries.push_back(std::move(c));
    }
    std::string spec = cfg.defaultEntry;
    std::string how = "GRUB's default";
    if (spec == "${saved_entry}" || spec == "$saved_entry") {
        spec = env.count("saved_entry") ? env["saved_entry"] : "";
        how += spec.empty() ? " (no saved_entry: the first entry)" : " (saved_entry=" + spec + ")";
        if (spec.empty()) spec = "0";
    }
    if (spec.empty()) spec = "0";
    if (const GrubItem* d = findGrubEntry(cfg, spec)) {
        v->defaultSuffix = grubKernelSuffix(d->kernel);
        v->defaultHow = how;
    } else {
        v->warnings.push_back(v->where + ": the default entry \"" + escapeText(spec) +
                              "\" names no menu entry");
    }
}

void fromBls(const Root& root, const std::vector<LoadedEntry>& entries, const std::string& where,
             const std::map<std::string, std::string>& env, BootLoaderView* v) {
    v->kind = "bls";
    v->where = where;
    for (auto& le : entries) {
        std::vector<std::string> unknown;
        std::string opts = expandGrubVariables(le.entry.options, env, &unknown);
        for (auto& u : unknown)
            v->warnings.push_back(where + "/" + le.id + ".conf: $" + escapeText(u) +
                                  " is not set in grubenv; dropped");
        BootEntryConfig c{le.entry.title, grubKernelSuffix(le.entry.linux), splitCmdline(opts),
                          false};
        c.recovery = le.id.find("rescue") != std::string::npos;
        if (!c.suffix.empty()) v->entries.push_back(std::move(c));
    }
    // The default: GRUB's saved_entry (grub2-set-default, grubby), then
    // systemd-boot's LoaderEntryDefault and loader.conf, then the newest.
    std::string id, how;
    if (auto it = env.find("saved_entry"); it != env.end() && !it->second.empty()) {
        id = it->second;
        how = "the boot loader's saved_entry";
    }
    if (id.empty()) {
        std::vector<std::string> ignored;
        auto raw = readOptional(
            root, "/sys/firmware/efi/efivars/LoaderEntryDefault-" + std::string(kLoaderGuid),
            &ignored);
        if (raw)
            if (auto s = efiVarString(*raw)) {
                id = *s;
                how = "systemd-boot's LoaderEntryDefault";
            }
    }
    std::string pattern;
    if (id.empty()) {
        for (auto conf : {"/efi/loader/loader.conf", "/boot/efi/loader/loader.conf",
                          "/boot/loader/loader.conf"}) {
            std::vector<std::string> ignored;
            if (auto text = readOptional(root, conf, &ignored)) {
                // "key value" lines, as in the entries themselves.
                size_t pos = 0;
                while (pos < text->size()) {
                    size_t nl = text->find('\n', pos);
                    auto words = splitCmdline(text->substr(pos, nl - pos));
                    if (words.size() >= 2 && words[0] == "default") pattern = words[1];
                    pos = nl == std::string::npos ? text->size() : nl + 1;
                }
                if (!pattern.empty()) how = "loader.conf's default " + pattern;
                break;
            }
        }
    }
    for (auto& le : entries) {
        std::string name = le.id;
        bool match = !id.empty()
                         ? (name == id || name + ".conf" == id)
                         : !pattern.empty() &&
                               (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0 ||
                                ::fnmatch(pattern.c_str(), (name + ".conf").c_str(), 0) == 0);
        if (match) {
            v->defaultSuffix = grubKernelSuffix(le.entry.linux);
            v->defaultHow = how;
            return;
        }
    }
    if (!id.empty())
        v->warnings.push_back("the default entry \"" + escapeText(id) + "\" does not exist");
    for (auto& le : entries)
        if (le.id.find("rescue") == std::string::npos) {
            v->defaultSuffix = grubKernelSuffix(le.entry.linux);
            v->defaultHow = "the newest entry";
            return;
        }
}

}  // namespace

std::optional<std::string> BootLoaderView::cmdlineFor(const std::string& suffix) const {
    for (auto& e : entries)
        if (e.suffix == suffix && !e.recovery) return joinWords(e.args);
    if (commonCmdline) return commonCmdline;
    return std::nullopt;
}

std::string BootLoaderView::name() const {
    if (kind == "grub") return "GRUB (" + where + ")";
    if (kind == "bls") return "the boot loader entries in " + where;
    if (kind == "kernel-cmdline") return "/etc/kernel/cmdline";
    return "no boot loader configuration";
}

BootLoaderView readBootLoader(const Root& root) {
    BootLoaderView v;
    std::string grubDir;
    std::optional<std::string> grubText;
    for (auto dir : {"/boot/grub", "/boot/grub2"}) {
        grubText = readOptional(root, std::string(dir) + "/grub.cfg", &v.warnings);
        if (grubText) {
            grubDir = dir;
            break;
        }
    }
    if (grubText) fromGrub(root, grubDir, *grubText, &v);
    if (v.kind.empty()) {  // blscfg, or no grub.cfg at all
        std::string where;
        auto entries = readBlsEntries(root, &where, &v.warnings);
        if (!entries.empty()) {
            std::map<std::string, std::string> env;
            if (!grubDir.empty()) env = grubEnv(root, grubDir, &v.warnings);
            fromBls(root, entries, where, env, &v);
        } else if (grubText) {
            v.warnings.push_back(grubDir + "/grub.cfg uses blscfg, but there are no entries");
        }
    }
    if (v.kind.empty()) {
        if (auto text = readOptional(root, "/etc/kernel/cmdline", &v.warnings)) {
            v.kind = "kernel-cmdline";
            v.where = "/etc/kernel/cmdline";
            v.commonCmdline = joinWords(splitCmdline(*text));
        }
    }
    return v;
}

std::vector<std::string> handTypedParams(const std::string& running,
                                         const std::optional<std::string>& configured) {
    static const std::vector<std::string> kOneShot = {"single",
                                                      "emergency",
                                                      "rescue",
                                                      "systemd.unit=rescue.target",
                                                      "systemd.unit=emergency.target",
                                                      "rd.break",
                                                      "rd.shell",
                                                      "init=/bin/sh",
                                                      "init=/bin/bash",
                                                      "systemd.debug_shell",
                                                      "-b",
                                                      "s",
                                                      "S",
                                                      "1"};
    std::vector<std::string> out;
    std::vector<std::string> have;
    if (configured) have = splitCmdline(*configured);
    for (auto& w : splitCmdline(running)) {
        if (w == "--") break;
        std::string name = paramName(w);
        if (name == "BOOT_IMAGE" || name == "initrd") continue;
        if (configured) {
            auto it = std::find(have.begin(), have.end(), w);
            if (it != have.end()) {
                have.erase(it);
                continue;
            }
            out.push_back(w);
        } else if (std::find(kOneShot.begin(), kOneShot.end(), w) != kOneShot.end() ||
                   name == "break" || name == "rd.break") {
            out.push_back(w);
        }
    }
    return out;
}

std::string dropWords(const std::string& cmdline, const std::vector<std::string>& drop) {
    std::vector<std::string> left = drop;
    std::vector<std::string> kept;
    bool init = false;
    for (auto& w : splitCmdline(cmdline)) {
        if (!init && w == "--") init = true;
        if (!init) {
            auto it = std::find(left.begin(), left.end(), w);
            if (it != left.end()) {
                left.erase(it);
                continue;
            }
        }
        kept.push_back(w);
    }
    return joinWords(kept);
}

}  // namespace kexecd
