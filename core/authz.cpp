#include "authz.hpp"

namespace kexecd {

namespace {

struct Rule {
    std::string_view method;
    Authorization::Kind kind;
    std::string_view action;
    // When the call asks for more: a command line of the caller's choosing
    // (Stage), inhibitors overridden (RebootWithFlags).
    std::string_view customAction;
};

constexpr Rule kTable[] = {
    {"ListKernels", Authorization::Kind::Public, "", ""},
    {"ListBootEntries", Authorization::Kind::Public, "", ""},
    {"Check", Authorization::Kind::Public, "", ""},
    {"StageNewest", Authorization::Kind::Polkit, "org.kexecd1.stage", ""},
    {"Stage", Authorization::Kind::Polkit, "org.kexecd1.stage", "org.kexecd1.stage-custom"},
    {"Rescan", Authorization::Kind::Polkit, "org.kexecd1.stage", ""},
    {"Unstage", Authorization::Kind::Polkit, "org.kexecd1.unstage", ""},
    {"Reboot", Authorization::Kind::Polkit, "org.kexecd1.reboot", ""},
    {"RebootWithFlags", Authorization::Kind::Polkit, "org.kexecd1.reboot",
     "org.kexecd1.reboot-ignore-inhibit"},
    {"RebootWithOptions", Authorization::Kind::Polkit, "org.kexecd1.reboot",
     "org.kexecd1.reboot-ignore-inhibit"},
    {"RebootNeeded", Authorization::Kind::Public, "", ""},
    {"FleetStatus", Authorization::Kind::Public, "", ""},
    // Frees another node's slot: it lets one more node of the fleet go down.
    {"FleetRelease", Authorization::Kind::Polkit, "org.kexecd1.fleet-release", ""},
};

}  // namespace

Authorization authorizationFor(std::string_view method, bool escalated) {
    for (const auto& r : kTable) {
        if (r.method != method) continue;
        std::string_view action = escalated && !r.customAction.empty() ? r.customAction : r.action;
        return Authorization{r.kind, std::string(action)};
    }
    return Authorization{Authorization::Kind::Deny, ""};
}

}  // namespace kexecd
