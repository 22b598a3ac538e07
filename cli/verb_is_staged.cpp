#include <cstdio>

#include "verbs.hpp"

namespace kexecctl {

// For scripts: exit 0 when a kernel is staged (by kexecd or another tool),
// 1 when not, and print nothing, like `systemctl is-active -q`.
int verbIsStaged(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: is-staged takes no arguments\n");
        return kUsage;
    }
    return c.manager().Loaded() ? kOk : kFailed;
}

}  // namespace kexecctl
