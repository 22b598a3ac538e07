#include "logind.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include "error.hpp"
#include "log.hpp"

namespace kexecd {

namespace {
// From systemd's login1 API: honour inhibitors even though we are root, and
// reboot through the loaded kexec kernel.
constexpr uint64_t kRootCheckInhibitors = 1 << 0;
constexpr uint64_t kKexecReboot = 1 << 1;
// logind answers once the reboot job is queued; one that does not answer in
// this time is not going to reboot.
constexpr auto kTimeout = std::chrono::seconds(30);

bool notRunning(const sdbus::Error& e) {
    return e.getName() == "org.freedesktop.DBus.Error.ServiceUnknown" ||
           e.getName() == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

// logind's RebootWithFlags; throws the sdbus::Error for the caller to word.
void rebootWithFlags(uint64_t flags) {
    auto conn = sdbus::createSystemBusConnection();
    auto login = sdbus::createProxy(*conn, "org.freedesktop.login1", "/org/freedesktop/login1");
    login->callMethod("RebootWithFlags")
        .onInterface("org.freedesktop.login1.Manager")
        .withArguments(flags)
        .withTimeout(kTimeout);
}

}  // namespace

void LogindPower::rebootFirmware(const std::string& why, bool checkInhibitors) {
    try {
        rebootWithFlags(checkInhibitors ? kRootCheckInhibitors : 0);
    } catch (const sdbus::Error& e) {
        if (notRunning(e))
            throw Error(ErrorCode::Failed, "cannot reboot (" + why +
                                               "): logind (org.freedesktop.login1) is not running");
        throw Error(ErrorCode::Failed, "logind did not reboot (" + why + "): " + e.getMessage() +
                                           " (" + e.getName() + ")");
    }
}

// Nothing is changed before logind says yes: when it cannot reboot, the
// kernel stays staged for the next try.
void LogindPower::rebootKexec(const std::string& version, bool checkInhibitors) {
    try {
        rebootWithFlags((checkInhibitors ? kRootCheckInhibitors : 0) | kKexecReboot);
    } catch (const sdbus::Error& e) {
        if (notRunning(e))
            throw Error(ErrorCode::Failed,
                        "cannot reboot: logind (org.freedesktop.login1) is not running; " +
                            version + " stays staged, 'systemctl kexec' boots it once logind runs");
        throw Error(ErrorCode::Failed, "logind did not reboot: " + e.getMessage() + " (" +
                                           e.getName() + "); " + version + " stays staged");
    }
}

}  // namespace kexecd
