#include "manager.hpp"

namespace kexecctl {

std::map<std::string, sdbus::Variant> Manager::all() {
    std::map<std::string, sdbus::Variant> props;
    getProxy()
        .callMethod("GetAll")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(std::string(INTERFACE_NAME))
        .storeResultsTo(props);
    return props;
}

void Manager::ping() {
    auto call = getProxy().createMethodCall("org.freedesktop.DBus.Peer", "Ping");
    getProxy().callMethod(call);
}

}  // namespace kexecctl
