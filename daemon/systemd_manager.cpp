#include "systemd_manager.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <string>

#include "check.hpp"

namespace kexecd {

namespace {

// Its own short-lived connection: callable from any thread, and never
// waiting behind the daemon's event loop.
sdbus::Variant managerProperty(sdbus::IConnection& conn, const char* name) {
    auto pid1 = sdbus::createProxy(conn, "org.freedesktop.systemd1", "/org/freedesktop/systemd1");
    sdbus::Variant v;
    pid1->callMethod("Get")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments("org.freedesktop.systemd1.Manager", name)
        .withTimeout(std::chrono::seconds(2))
        .storeResultsTo(v);
    return v;
}

}  // namespace

unsigned systemdVersion() {
    try {
        auto conn = sdbus::createSystemBusConnection();
        return parseSystemdVersion(managerProperty(*conn, "Version").get<std::string>());
    } catch (const sdbus::Error&) {
        return 0;
    }
}

LoaderTimes loaderTimes() {
    try {
        auto conn = sdbus::createSystemBusConnection();
        return {managerProperty(*conn, "FirmwareTimestampMonotonic").get<uint64_t>(),
                managerProperty(*conn, "LoaderTimestampMonotonic").get<uint64_t>()};
    } catch (const sdbus::Error&) {
        return {};
    }
}

std::string systemState() {
    try {
        auto conn = sdbus::createSystemBusConnection();
        return managerProperty(*conn, "SystemState").get<std::string>();
    } catch (const sdbus::Error&) {
        return "";
    }
}

}  // namespace kexecd
