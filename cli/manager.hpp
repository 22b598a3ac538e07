#pragma once
// The client side of org.kexecd1.Manager, shared by kexecctl and the D-Bus
// benchmark: the generated proxy on a connection the caller keeps (no event
// loop thread; every call is synchronous).
#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <string>

#include "kexecd-proxy.h"

namespace kexecctl {

class Manager final : public sdbus::ProxyInterfaces<org::kexecd1::Manager_proxy> {
  public:
    explicit Manager(sdbus::IConnection& conn)
        : ProxyInterfaces(conn, "org.kexecd1", "/org/kexecd1") {}
    ~Manager() { unregisterProxy(); }
    // One round trip for all properties.
    std::map<std::string, sdbus::Variant> all();
    // org.freedesktop.DBus.Peer.Ping: answered by sd-bus in the daemon before
    // any kexecd code, the floor under every other call.
    void ping();
    // For calls the generated proxy cannot make: one with a long timeout
    // (RebootWithOptions waits for a [Fleet] slot).
    sdbus::IProxy& proxy() { return getProxy(); }
};

}  // namespace kexecctl
