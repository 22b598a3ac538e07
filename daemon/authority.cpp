#include "authority.hpp"

#include <chrono>
#include <vector>

#include "log.hpp"

namespace kexecd {

namespace {

constexpr auto kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
constexpr auto kInteractive = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired";
constexpr auto kPolkitIface = "org.freedesktop.PolicyKit1.Authority";
constexpr auto kPolkitCancelled = "org.freedesktop.PolicyKit1.Error.Cancelled";
constexpr uint32_t kAllowUserInteraction = 1;
// A password prompt may wait for its user; without one polkit answers at
// once, and a polkit that does not is as good as absent.
constexpr auto kInteractiveTimeout = std::chrono::minutes(5);
constexpr auto kTimeout = std::chrono::seconds(60);

using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;

}  // namespace

Authority::Authority(sdbus::IConnection& conn)
    : polkit_(sdbus::createProxy(conn, "org.freedesktop.PolicyKit1",
                                 "/org/freedesktop/PolicyKit1/Authority")) {}

void Authority::check(const Caller& caller, const Authorization& auth, bool interactive,
                      const Details& details, Done done) {
    if (auth.kind == Authorization::Kind::Public) return done(Outcome::Allowed, nullptr);
    if (auth.kind == Authorization::Kind::Deny) {
        sdbus::Error e(kAccessDenied, "this method is not allowed");
        return done(Outcome::Denied, &e);
    }
    uint64_t id = ++next_;
    // Cancellation ids are per calling connection at polkit; ours is the
    // one connection of the daemon, so a counter is unique.
    std::string cancellationId = "kexecd-" + std::to_string(id);
    Subject subject{"system-bus-name", {{"name", sdbus::Variant(caller.sender)}}};
    try {
        auto call =
            polkit_->callMethodAsync("CheckAuthorization")
                .onInterface(kPolkitIface)
                .withArguments(subject, auth.action, details,
                               interactive ? kAllowUserInteraction : uint32_t{0}, cancellationId)
                .withTimeout(interactive ? std::chrono::microseconds(kInteractiveTimeout)
                                         : std::chrono::microseconds(kTimeout))
                .uponReplyInvoke([this, id](const sdbus::Error* error, AuthResult result) {
                    answered(id, error, result);
                });
        pending_.emplace(id, Pending{caller.sender, std::move(cancellationId), auth.action,
                                     interactive, std::move(done), std::move(call)});
    } catch (const sdbus::Error& e) {
        sdbus::Error denied(kAccessDenied, "cannot check authorization (" + auth.action +
                                               "): polkit is not available: " + e.getMessage());
        done(Outcome::Denied, &denied);
    }
}

// sdbus-c++ lets nothing but sdbus::Error out of a reply handler alive, and
// `done` is the caller's code: nothing may escape from here.
void Authority::answered(uint64_t id, const sdbus::Error* error, const AuthResult& result) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // cancelled
    Pending p = std::move(it->second);
    pending_.erase(it);
    try {
        if (error) {
            std::string why = error->getName() == kPolkitCancelled
                                  ? "the authorization check was cancelled"
                                  : "polkit is not available: " + error->getMessage();
            sdbus::Error denied(kAccessDenied,
                                "cannot check authorization (" + p.action + "): " + why);
            return p.done(Outcome::Denied, &denied);
        }
        bool allowed = result.get<0>(), challenge = result.get<1>();
        if (allowed) return p.done(Outcome::Allowed, nullptr);
        if (challenge && !p.interactive) {
            sdbus::Error e(kInteractive, "authentication is required for " + p.action +
                                             "; allow interactive authorization or run as root");
            return p.done(Outcome::Denied, &e);
        }
        sdbus::Error e(kAccessDenied, "not authorized for " + p.action);
        p.done(Outcome::Denied, &e);
    } catch (const std::exception& e) {
        log::error("handling polkit's answer failed: {}", e.what());
    } catch (...) {
        log::error("handling polkit's answer failed");
    }
}

size_t Authority::callerGone(const std::string& sender) {
    std::vector<uint64_t> ids;
    for (auto& [id, p] : pending_)
        if (p.sender == sender) ids.push_back(id);
    for (auto id : ids) {
        auto it = pending_.find(id);
        Pending p = std::move(it->second);
        pending_.erase(it);
        // polkit ends its side (an agent's password dialog) at once; we stop
        // waiting for its answer either way.
        try {
            polkit_->callMethod("CancelCheckAuthorization")
                .onInterface(kPolkitIface)
                .withArguments(p.cancellationId)
                .dontExpectReply();
        } catch (const sdbus::Error& e) {
            log::debug("cannot cancel polkit check {}: {}", p.cancellationId, e.getMessage());
        }
        p.call.cancel();
        p.done(Outcome::Cancelled, nullptr);
    }
    return ids.size();
}

}  // namespace kexecd
