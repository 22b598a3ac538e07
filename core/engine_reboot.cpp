// The engine's reboots: into the staged kernel through logind, through the
// firmware when the next boot needs it (stepping aside), and the cold reboot
// that asks logind before it unloads. The rest of the policy is in
// engine.cpp.
#include "engine.hpp"
#include "error.hpp"
#include "event_log.hpp"

namespace kexecd {

void Engine::reboot(Power& power, RebootFlags flags) {
    std::lock_guard lock(opMutex_);
    reconcileLocked();
    publishLocked();
    const bool check = !flags.ignoreInhibitors;
    const std::string mode = power.simulated() ? "simulated reboot" : "rebooting";
    if (flags.cold) return rebootColdLocked(power, check);
    if (!staged_ && !foreign_)
        throw Error(ErrorCode::NotStaged,
                    "nothing is staged; run 'kexecctl stage' first, or reboot normally");
    if (auto why = stepAsideLocked("at Reboot()"); !why.empty()) {
        try {
            power.rebootFirmware(why, check);
        } catch (const Error& e) {
            throw Error(e.code(), std::string("the staged kernel was unloaded, but ") + e.what() +
                                      "; reboot with 'systemctl reboot'");
        }
        logEvent(EventKind::Reboot, EventLevel::Notice,
                 mode + " through the firmware (" + why + ") for " + currentActor().who, "");
        return;
    }
    std::string version = staged_ ? staged_->version : "a kernel loaded by another tool";
    power.rebootKexec(version, check);
    logEvent(EventKind::Reboot, EventLevel::Notice,
             mode + " into " + version + " (kexec, through logind) for " + currentActor().who,
             staged_ ? staged_->version : "", staged_ ? staged_->cmdline : "");
}

// A refused cold reboot must leave the staged kernel staged, so logind goes
// first; the unload follows at once, long before systemd gets to the point
// where a loaded kernel would turn the reboot into a kexec (systemd >= 255,
// and the shutdown hook for [Reboot] UseKexec=yes).
void Engine::rebootColdLocked(Power& power, bool checkInhibitors) {
    power.rebootFirmware("a cold reboot was asked for", checkInhibitors);
    std::string unloaded;
    if (staged_ || foreign_) {
        unloaded = staged_ ? staged_->version : "the kernel another tool loaded";
        try {
            unstageLocked();
        } catch (const Error& e) {
            throw Error(ErrorCode::Failed,
                        std::string("logind is rebooting, but the staged kernel could not be "
                                    "unloaded (") +
                            e.what() + "): this reboot may still be a kexec");
        }
    }
    logEvent(EventKind::Reboot, EventLevel::Notice,
             std::string(power.simulated() ? "simulated reboot" : "rebooting") +
                 " through the firmware (cold reboot" +
                 (unloaded.empty() ? "" : ", unloaded " + unloaded) + ") for " + currentActor().who,
             "");
}

}  // namespace kexecd
