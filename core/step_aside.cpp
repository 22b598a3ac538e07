#include "step_aside.hpp"

#include <cstdio>
#include <filesystem>

#include "bls.hpp"
#include "efivars.hpp"
#include "error.hpp"
#include "text.hpp"

namespace kexecd {

namespace {

std::optional<std::string> readVar(const Root& root, const std::string& name) {
    try {
        return readSmallFile(root.path("/sys/firmware/efi/efivars/" + name), 64 << 10);
    } catch (const Error&) {
        return std::nullopt;  // unreadable counts as unset, as for bootctl
    }
}

bool nonEmptyDir(const std::filesystem::path& p) {
    std::error_code ec;
    auto it = std::filesystem::directory_iterator(p, ec);
    return !ec && it != std::filesystem::directory_iterator();
}

}  // namespace

std::vector<std::string> firmwareBootReasons(const Root& root) {
    std::vector<std::string> why;
    const std::string global(kEfiGlobalGuid), loader(kLoaderGuid);

    if (auto raw = readVar(root, "BootNext-" + global)) {
        if (auto n = efiVarUint(*raw, 2)) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "Boot%04X", static_cast<unsigned>(*n));
            why.push_back(std::string("EFI BootNext is set (") + buf +
                          "): the firmware boots that entry next");
        }
    }
    if (auto raw = readVar(root, "OsIndications-" + global)) {
        auto bits = efiVarUint(*raw, 8).value_or(0);
        if (bits & kOsIndicationBootToFwUi)
            why.push_back("EFI OsIndications asks for the firmware setup screen at the next boot");
        if (bits & kOsIndicationCapsuleOnDisk)
            why.push_back(
                "EFI OsIndications asks the firmware to apply a capsule update from disk");
    }
    if (auto raw = readVar(root, "LoaderEntryOneShot-" + loader))
        if (auto s = efiVarString(*raw); s && !s->empty())
            why.push_back("systemd-boot boots the one-shot entry \"" + escapeText(*s) + "\" next");

    // fwupd: capsules on the ESP, or its own variables.
    auto capsuleDir = [&]() -> std::string {
        for (auto esp : {"/efi", "/boot/efi", "/boot"})
            for (auto dir : {"/EFI/UpdateCapsule", "/EFI/UPDATECAPSULE"})
                if (nonEmptyDir(root.path(std::string(esp) + dir))) return std::string(esp) + dir;
        return "";
    }();
    if (!capsuleDir.empty()) why.push_back("a firmware update capsule waits in " + capsuleDir);
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(root.path("/sys/firmware/efi/efivars"), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::string n = it->path().filename().string();
        if (n.rfind("fwupd-", 0) == 0) {
            why.push_back("fwupd has a firmware update pending (EFI variable " + escapeText(n) +
                          ")");
            break;
        }
    }

    for (auto dir : {"/boot/grub", "/boot/grub2"}) {
        std::optional<std::string> text;
        try {
            text = readSmallFile(root.path(std::string(dir) + "/grubenv"), 64 << 10);
        } catch (const Error&) {
        }
        if (!text) continue;
        auto env = parseGrubEnv(*text);
        if (auto it = env.find("next_entry"); it != env.end() && !it->second.empty())
            why.push_back(
                "grub-reboot chose a one-shot entry (next_entry=" + escapeText(it->second) + ")");
        break;
    }

    if (std::filesystem::exists(root.path("/no-kexec-reboot"), ec))
        why.push_back("/no-kexec-reboot exists (kexec-tools' coldreboot asked for a cold reboot)");
    return why;
}

}  // namespace kexecd
