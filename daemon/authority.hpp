#pragma once
// Asks polkit whether a caller may do what it asks, without holding a thread:
// the check is sent from the bus thread and its answer handled there, so a
// check that waits minutes for a password (or for a polkit that hangs) costs
// nothing but an entry here. Bus thread only.
#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "authz.hpp"
#include "callers.hpp"
#include "unique_function.hpp"

namespace kexecd {

class Authority {
  public:
    enum class Outcome { Allowed, Denied, Cancelled };
    // `error` is set for Denied: AccessDenied or
    // InteractiveAuthorizationRequired, with a message for the caller.
    using Done = UniqueFunction<void(Outcome, const sdbus::Error* error)>;
    // Shown by polkit's agent ("version", "cmdline", "polkit.message").
    using Details = std::map<std::string, std::string>;

    explicit Authority(sdbus::IConnection& conn);

    // Calls `done` exactly once, later on the bus thread or before it
    // returns. The caller's uid is not looked at: uid 0 is let in before.
    void check(const Caller& caller, const Authorization& auth, bool interactive,
               const Details& details, Done done);

    // The caller left the bus: its checks are cancelled at polkit and their
    // `done` called with Cancelled. Returns how many there were.
    size_t callerGone(const std::string& sender);

    size_t pending() const { return pending_.size(); }

  private:
    struct Pending {
        std::string sender;
        std::string cancellationId;
        std::string action;
        bool interactive = false;
        Done done;
        sdbus::PendingAsyncCall call;
    };
    using AuthResult = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;
    void answered(uint64_t id, const sdbus::Error* error, const AuthResult& result);

    std::unordered_map<uint64_t, Pending> pending_;
    uint64_t next_ = 0;
    // Last, so that it goes first: its pending calls (and their handlers,
    // which point here) are dropped before pending_.
    std::unique_ptr<sdbus::IProxy> polkit_;
};

}  // namespace kexecd
