#include <cstdio>

#include "verbs.hpp"

namespace kexecctl {

int verbReboot(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: reboot takes no arguments\n");
        return kUsage;
    }
    if (!c.opts().cold) {
        c.manager().Reboot(c.opts().interactive);
        if (c.opts().quiet) return kOk;
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

    // --cold: the way back to a full firmware reboot. Unstage first, so that
    // nothing (systemd >= 255, the legacy reboot command) kexecs instead.
    try {
        c.manager().Unstage(c.opts().interactive);
    } catch (const sdbus::Error& e) {
        if (e.getName() != "org.kexecd1.Error.NotStaged") throw;
    }
    auto login =
        sdbus::createProxy(c.connection(), "org.freedesktop.login1", "/org/freedesktop/login1");
    login->callMethod("Reboot")
        .onInterface("org.freedesktop.login1.Manager")
        .withArguments(c.opts().interactive);
    if (!c.opts().quiet) std::printf("Rebooting through the firmware.\n");
    return kOk;
}

}  // namespace kexecctl
