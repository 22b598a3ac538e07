#include "check.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmdline.hpp"
#include "efivars.hpp"
#include "engine.hpp"
#include "error.hpp"
#include "step_aside.hpp"
#include "text.hpp"

namespace kexecd {

namespace {

std::optional<std::string> readQuiet(const Root& root, const std::string& path) {
    try {
        return readSmallFile(root.path(path), 1 << 20);
    } catch (const Error&) {
        return std::nullopt;
    }
}

bool contains(const std::optional<std::string>& s, std::string_view needle) {
    return s && s->find(needle) != std::string::npos;
}

void kexecSupport(const Root& root, std::vector<CheckItem>* out) {
    if (!readQuiet(root, "/sys/kernel/kexec_loaded"))
        out->push_back({"kexec", "fail",
                        "the running kernel has no kexec support (/sys/kernel/kexec_loaded is "
                        "missing): every reboot goes through the firmware"});
    else if (contains(readQuiet(root, "/proc/sys/kernel/kexec_load_disabled"), "1"))
        out->push_back({"kexec", "fail",
                        "kexec is disabled until the next reboot (kernel.kexec_load_disabled=1)"});
    else
        out->push_back({"kexec", "ok", "the running kernel can load and boot a kernel"});
}

void secureBoot(const Root& root, std::vector<CheckItem>* out) {
    auto sb =
        readQuiet(root, "/sys/firmware/efi/efivars/SecureBoot-" + std::string(kEfiGlobalGuid));
    bool on = sb && sb->size() >= 5 && (*sb)[4] == 1;
    auto lockdown = readQuiet(root, "/sys/kernel/security/lockdown");
    bool locked = contains(lockdown, "[integrity]") || contains(lockdown, "[confidentiality]");
    if (locked)
        out->push_back({"secure-boot", "warn",
                        std::string(on ? "Secure Boot is on and the" : "The") +
                            " kernel is locked down: only kernels signed with a key it trusts "
                            "can be staged (distribution kernels are)"});
    else
        out->push_back({"secure-boot", "ok",
                        on ? "Secure Boot is on, the kernel is not locked down"
                           : "no lockdown: any kernel image can be staged"});
}

void tpm(const Root& root, std::vector<CheckItem>* out) {
    auto crypttab = readQuiet(root, "/etc/crypttab");
    if (contains(crypttab, "tpm2-device="))
        out->push_back({"tpm2", "warn",
                        "/etc/crypttab unlocks a disk with the TPM (tpm2-device=): kexec resets "
                        "no PCR, so an unlock bound to PCRs can fail after a fast reboot"});
    else if (crypttab && readQuiet(root, "/usr/bin/clevis"))
        out->push_back({"tpm2", "warn",
                        "clevis is installed and /etc/crypttab lists encrypted disks: a clevis "
                        "tpm2 binding can fail after a fast reboot (PCRs are not reset)"});
    else
        out->push_back({"tpm2", "ok", "no TPM-bound disk unlock found"});
}

}  // namespace

unsigned parseSystemdVersion(const std::string& s) {
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') break;
        v = v * 10 + static_cast<unsigned>(c - '0');
        if (v > 100000) return 0;
    }
    return v;
}

std::vector<CheckItem> runChecks(const Root& root, const CheckInput& in) {
    std::vector<CheckItem> out;
    const Status& st = *in.status;
    const BootLoaderView& bl = *in.bootLoader;
    kexecSupport(root, &out);
    secureBoot(root, &out);
    if (contains(readQuiet(root, "/sys/hypervisor/type"), "xen"))
        out.push_back(
            {"xen", "warn", "running under Xen: kexec is not supported in most Xen guests"});

    if (!st.stagedVersion.empty())
        out.push_back({"staged", "ok",
                       fmt::format("{} is staged; it holds {} MiB of memory until the reboot",
                                   st.stagedVersion, (in.stagedBytes + (1 << 20) - 1) >> 20)});
    else if (st.stagedOrigin == "foreign")
        out.push_back({"staged", "warn", "a kernel loaded by another tool is staged"});
    else
        out.push_back({"staged", "warn", "nothing is staged: reboots go through the firmware"});

    auto reasons = firmwareBootReasons(root);
    for (auto& r : reasons)
        out.push_back({"step-aside", in.config->stepAside ? "warn" : "fail",
                       r + (in.config->stepAside
                                ? ": the next reboot goes through the firmware (StepAside=yes)"
                                : ": a fast reboot would skip it (StepAside=no)")});
    if (reasons.empty())
        out.push_back({"step-aside", "ok", "nothing needs the firmware at the next boot"});

    tpm(root, &out);

    if (bl.kind.empty()) {
        out.push_back({"boot-loader", "warn",
                       "no boot loader configuration found (grub.cfg, loader entries, "
                       "/etc/kernel/cmdline): cannot compare with a cold reboot"});
    } else {
        for (auto& w : bl.warnings) out.push_back({"boot-loader", "warn", w});
        if (!st.stagedVersion.empty() && !st.defaultVersion.empty() &&
            st.defaultVersion != st.stagedVersion)
            out.push_back({"kernel-drift", "warn",
                           fmt::format("the default of {} is {}; staged {}", bl.name(),
                                       st.defaultVersion, st.stagedVersion)});
        else if (!st.stagedVersion.empty())
            out.push_back({"kernel-drift", "ok",
                           st.defaultVersion.empty()
                               ? "the boot loader's default kernel is unknown"
                               : "the staged kernel is the boot loader's default"});
        if (!st.stagedVersion.empty() && !st.bootLoaderCmdline.empty()) {
            auto diff = cmdlineDiff(st.bootLoaderCmdline, st.stagedCmdline);
            if (diff.empty())
                out.push_back(
                    {"cmdline-drift", "ok", "the staged command line is the boot loader's"});
            else
                out.push_back(
                    {"cmdline-drift", "warn",
                     fmt::format("the staged command line differs from the one {} gives it: {}",
                                 bl.name(), escapeText(fmt::format("{}", fmt::join(diff, " "))))});
        }
    }

    if (in.systemdVersion == 0)
        out.push_back({"systemd", "warn", "systemd's version is unknown"});
    else if (in.systemdVersion >= 255)
        out.push_back({"systemd", "ok",
                       fmt::format("systemd {}: every 'systemctl reboot' boots the staged kernel "
                                   "(SYSTEMCTL_SKIP_AUTO_KEXEC=1 skips it once)",
                                   in.systemdVersion)});
    else
        out.push_back(
            {"systemd", in.config->rebootUsesKexec ? "ok" : "warn",
             fmt::format("systemd {}: only 'systemctl kexec' boots the staged kernel{}",
                         in.systemdVersion,
                         in.config->rebootUsesKexec
                             ? ", and every reboot with [Reboot] UseKexec=yes"
                             : "; 'systemctl reboot' goes through the firmware (see UseKexec=)")});
    return out;
}

}  // namespace kexecd
