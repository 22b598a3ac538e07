#include "logind.hpp"

#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>

#include "error.hpp"

namespace kexecd {

namespace {
// From systemd's login1 API: honour inhibitors even though we are root, and
// reboot through the loaded kexec kernel.
constexpr uint64_t kRootCheckInhibitors = 1 << 0;
constexpr uint64_t kKexecReboot = 1 << 1;
}  // namespace

void LogindPower::rebootKexec(const std::string& version) {
    try {
        auto conn = sdbus::createSystemBusConnection();
        auto login = sdbus::createProxy(*conn, "org.freedesktop.login1", "/org/freedesktop/login1");
        login->callMethod("RebootWithFlags")
            .onInterface("org.freedesktop.login1.Manager")
            .withArguments(kRootCheckInhibitors | kKexecReboot);
        spdlog::info("rebooting into {} (kexec, through logind)", version);
    } catch (const sdbus::Error& e) {
        throw Error(ErrorCode::Failed, "logind refused the reboot: " + e.getMessage());
    }
}

}  // namespace kexecd
