#pragma once
// Asks polkit whether the sender of a call may do what it asks. Blocking:
// call it from a worker thread, never from the bus loop.
#include <string>

#include "authz.hpp"

namespace kexecd {

class Authority {
  public:
    // Throws sdbus::Error (AccessDenied or InteractiveAuthorizationRequired)
    // unless the caller is allowed. Callers with uid 0 are allowed without
    // asking; polkit unreachable means denied.
    void check(const std::string& sender, const Authorization& auth, bool interactive) const;
};

}  // namespace kexecd
