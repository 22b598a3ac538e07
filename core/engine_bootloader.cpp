// The engine's side that looks at the boot loader: which kernel AutoStage
// picks (Kernel=), the derived command line (CmdlineSource=, parameters typed
// at the boot menu), stepping aside when the next boot needs the firmware,
// and the check report. The rest of the policy is in engine.cpp.
#include <algorithm>

#include "cmdline.hpp"
#include "engine.hpp"
#include "error.hpp"
#include "event_log.hpp"
#include "grub_cfg.hpp"
#include "log.hpp"
#include "step_aside.hpp"
#include "text.hpp"

namespace kexecd {

BootLoaderView Engine::bootLoader() const {
    std::lock_guard lock(opMutex_);
    return bootLoader_;
}

std::vector<CheckItem> Engine::check(unsigned systemdVersion) {
    std::lock_guard lock(opMutex_);
    scanLocked();
    reconcileLocked();
    publishLocked();
    Status st = status();
    uint64_t bytes = 0;
    if (staged_)
        for (auto& f : staged_->files)
            bytes += static_cast<uint64_t>(std::max<int64_t>(f.id.size, 0));
    return runChecks(root_, {&st, &bootLoader_, &config_, bytes, systemdVersion});
}

std::string Engine::runningSuffixLocked(const std::vector<Kernel>& kernels) const {
    for (auto& k : kernels)
        if (k.version == runningVersion_) return grubKernelSuffix(k.image);
    return runningVersion_;
}

const Kernel* Engine::autoTargetLocked(const std::vector<Kernel>& kernels) const {
    const Kernel* newest = newestBootable(kernels);
    if (!config_.bootLoaderDefaultKernel) return newest;
    const std::string& want = bootLoader_.defaultSuffix;
    std::string why;
    if (want.empty()) {
        why = bootLoader_.kind.empty() ? "no boot loader configuration was found"
                                       : "the default of " + bootLoader_.name() + " is unknown";
    } else {
        for (auto& k : kernels) {
            if (grubKernelSuffix(k.image) != want) continue;
            if (k.bootable) return &k;
            why = "the boot loader's default, " + k.version + ", is not bootable: " + k.reason;
        }
        if (why.empty()) why = "the boot loader's default, vmlinuz-" + want + ", is not in /boot";
    }
    log::warn("Kernel=default: {}; using the newest bootable kernel", why);
    return newest;
}

std::string Engine::derivedCmdline(const Kernel& target) const {
    std::string base;
    bool haveBase = false;
    std::string from;
    if (target.cmdline) {
        // What the entry itself boots with (a UKI's .cmdline is what
        // systemd-stub uses under Secure Boot, whatever the loader says).
        base = *target.cmdline;
        haveBase = true;
        from = target.entry;
    } else if (config_.cmdlineFromBootLoader) {
        if (auto c = bootLoader_.cmdlineFor(grubKernelSuffix(target.image))) {
            base = *c;
            haveBase = true;
            from = bootLoader_.name();
        } else {
            log::warn(
                "CmdlineSource=bootloader: {} has no entry for {}; deriving the command "
                "line from the running one",
                bootLoader_.name(), target.version);
        }
    }
    if (!haveBase) {
        from = "/proc/cmdline";
        auto proc = readSmallFile(root_.path("/proc/cmdline"));
        if (!proc)
            throw Error(
                ErrorCode::Failed,
                "cannot read /proc/cmdline to derive the command line; pass one explicitly");
        // What the boot loader would not give the running kernel was typed
        // at the boot menu for this boot only.
        auto configured = bootLoader_.cmdlineFor(runningSuffixLocked(lastScan_));
        auto typed = handTypedParams(*proc, configured);
        if (!typed.empty())
            log::info("not carrying over {} (typed at the boot menu: {})",
                      escapeText(fmt::format("{}", fmt::join(typed, " "))),
                      configured ? "not in the entry of " + bootLoader_.name()
                                 : std::string("a one-shot parameter"));
        base = dropWords(*proc, typed);
    }
    std::string cmdline = deriveCmdline(base, config_.cmdlineRemove, config_.cmdlineAppend);
    log::debug("command line for {} from {}: {}", target.version, from, escapeText(cmdline));
    try {
        validateCmdline(cmdline);
    } catch (const Error& e) {
        throw Error(e.code(), "the command line derived from " + from +
                                  " and CmdlineAppend= cannot be used: " + e.what() +
                                  "; set CmdlineRemove=/CmdlineAppend= or pass one");
    }
    return cmdline;
}

std::string Engine::stepAsideLocked(const char* when) {
    if (!config_.stepAside || (!staged_ && !foreign_)) return "";
    auto reasons = firmwareBootReasons(root_);
    if (reasons.empty()) return "";
    std::string why = fmt::format("{}", fmt::join(reasons, "; "));
    if (foreign_) {
        log::warn(
            "the next boot needs the firmware ({}), but the staged kernel was loaded by "
            "another tool; kexecd leaves it alone",
            why);
        return "";
    }
    std::string version = staged_->version;
    unstageLocked();
    logEvent(EventKind::SteppedAside, EventLevel::Warning,
             fmt::format("stepping aside {}: {}; unloaded {} so that the reboot goes through the "
                         "firmware (AutoStage stages it again at the next start)",
                         when, why, version),
             version);
    return why;
}

}  // namespace kexecd
