#include <chrono>
#include <cstdio>

#include "text.hpp"
#include "verbs.hpp"

namespace kexecctl {

namespace {

// A reboot may wait long for a [Fleet] slot: far longer than D-Bus's
// default 25 s. Interrupting kexecctl leaves the bus, which cancels the wait.
constexpr auto kRebootTimeout = std::chrono::hours(24 * 7);

std::map<std::string, sdbus::Variant> baseOptions(Client& c) {
    std::map<std::string, sdbus::Variant> options{{"wait", sdbus::Variant(!c.opts().noWait)}};
    if (c.opts().ignoreInhibitors) options["ignore-inhibitors"] = sdbus::Variant(true);
    return options;
}

void rebootWith(Client& c, const std::map<std::string, sdbus::Variant>& options) {
    c.manager()
        .proxy()
        .callMethod("RebootWithOptions")
        .onInterface("org.kexecd1.Manager")
        .withTimeout(kRebootTimeout)
        .withArguments(c.opts().interactive, options);
}

// The way back to a full firmware reboot: kexecd asks logind first and
// unloads the staged kernel only once logind has accepted, so a refused
// reboot leaves it staged.
int rebootCold(Client& c) {
    auto options = baseOptions(c);
    options["cold"] = sdbus::Variant(true);
    rebootWith(c, options);
    if (!c.opts().quiet) std::printf("Rebooting through the firmware.\n");
    return kOk;
}

}  // namespace

int verbReboot(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: reboot takes no arguments\n");
        return kUsage;
    }
    if (c.opts().ifNeeded) {
        bool needed = false;
        std::string reason;
        c.manager()
            .proxy()
            .callMethod("RebootNeeded")
            .onInterface("org.kexecd1.Manager")
            .storeResultsTo(needed, reason);
        if (!needed) {
            if (!c.opts().quiet)
                std::printf("No reboot needed: %s.\n", kexecd::escapeText(reason).c_str());
            return kOk;
        }
        if (!c.opts().quiet)
            std::printf("Reboot needed: %s.\n", kexecd::escapeText(reason).c_str());
    }
    if (c.opts().cold) return rebootCold(c);
    auto props = c.manager().all();
    // kured's --reboot-command: never a failed reboot for want of a kernel.
    if (c.opts().fallbackCold && !props["Loaded"].get<bool>()) return rebootCold(c);
    if (!c.opts().quiet && !props["FleetState"].get<std::string>().empty())
        std::printf("Taking a reboot slot (%s)...\n",
                    kexecd::escapeText(props["FleetState"].get<std::string>()).c_str());
    std::fflush(stdout);
    try {
        rebootWith(c, baseOptions(c));
    } catch (const sdbus::Error& e) {
        if (!c.opts().fallbackCold || e.getName() != "org.kexecd1.Error.NotStaged") throw;
        return rebootCold(c);  // unstaged between the look and the call
    }
    if (c.opts().quiet) return kOk;
    props = c.manager().all();
    bool simulated = props["StagedOrigin"].get<std::string>() == "simulated";
    // Nothing loaded any more: kexecd stepped aside for the firmware.
    bool steppedAside = !props["Loaded"].get<bool>();
    if (simulated)
        std::printf(
            "Simulated reboot: kexecd runs with --simulate, so it only logged what it "
            "would do.\n");
    else if (steppedAside)
        std::printf(
            "The next boot needs the firmware (see 'journalctl -u kexecd'): the "
            "staged kernel was unloaded, rebooting through the firmware.\n");
    else
        std::printf("Rebooting into the staged kernel.\n");
    return kOk;
}

}  // namespace kexecctl
