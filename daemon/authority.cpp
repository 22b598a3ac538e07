#include "authority.hpp"

#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

namespace kexecd {

namespace {

constexpr auto kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
constexpr auto kInteractive = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired";
constexpr uint32_t kAllowUserInteraction = 1;

using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
using AuthResult = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;

}  // namespace

void Authority::check(const std::string& sender, const Authorization& auth,
                      bool interactive) const {
    if (auth.kind == Authorization::Kind::Public) return;
    if (auth.kind == Authorization::Kind::Deny)
        throw sdbus::Error(kAccessDenied, "this method is not allowed");

    // A connection per check: checks run in parallel worker threads and an
    // interactive one may wait minutes for a password.
    std::unique_ptr<sdbus::IConnection> conn;
    try {
        conn = sdbus::createSystemBusConnection();
        auto bus = sdbus::createProxy(*conn, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        uint32_t uid = 0;
        bus->callMethod("GetConnectionUnixUser")
            .onInterface("org.freedesktop.DBus")
            .withArguments(sender)
            .storeResultsTo(uid);
        if (uid == 0) return;
    } catch (const sdbus::Error& e) {
        spdlog::warn("cannot identify caller {}: {}", sender, e.getMessage());
        throw sdbus::Error(kAccessDenied, "cannot identify the caller: " + e.getMessage());
    }

    AuthResult result;
    try {
        auto polkit = sdbus::createProxy(*conn, "org.freedesktop.PolicyKit1",
                                         "/org/freedesktop/PolicyKit1/Authority");
        Subject subject{"system-bus-name", {{"name", sdbus::Variant(sender)}}};
        std::map<std::string, std::string> details;
        polkit->callMethod("CheckAuthorization")
            .onInterface("org.freedesktop.PolicyKit1.Authority")
            .withArguments(subject, auth.action, details,
                           interactive ? kAllowUserInteraction : uint32_t{0}, std::string())
            .withTimeout(interactive ? std::chrono::minutes(5) : std::chrono::minutes(1))
            .storeResultsTo(result);
    } catch (const sdbus::Error& e) {
        spdlog::warn("polkit check of {} for {} failed: {}", auth.action, sender, e.getMessage());
        throw sdbus::Error(kAccessDenied, "cannot check authorization (" + auth.action +
                                              "): polkit is not available: " + e.getMessage());
    }
    bool allowed = result.get<0>(), challenge = result.get<1>();
    if (allowed) return;
    if (challenge && !interactive)
        throw sdbus::Error(kInteractive, "authentication is required for " + auth.action +
                                             "; allow interactive authorization or run as root");
    spdlog::info("denied {} to {}", auth.action, sender);
    throw sdbus::Error(kAccessDenied, "not authorized for " + auth.action);
}

}  // namespace kexecd
