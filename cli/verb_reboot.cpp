#include <cstdio>

#include "verbs.hpp"

namespace kexecctl {

namespace {

// RebootWithFlags' bits (dbus/org.kexecd1.xml).
constexpr uint64_t kFlagCold = 1;
constexpr uint64_t kFlagIgnoreInhibitors = 2;

}  // namespace

int verbReboot(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: reboot takes no arguments\n");
        return kUsage;
    }
    const auto& o = c.opts();
    uint64_t flags = (o.cold ? kFlagCold : 0) | (o.ignoreInhibitors ? kFlagIgnoreInhibitors : 0);
    // Plain Reboot() where no flag is set: it is what older daemons offer.
    if (flags == 0)
        c.manager().Reboot(o.interactive);
    else
        c.manager().RebootWithFlags(o.interactive, flags);
    if (o.quiet) return kOk;
    if (o.cold) {
        std::printf("Rebooting through the firmware.\n");
        return kOk;
    }
    auto props = c.manager().all();
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
