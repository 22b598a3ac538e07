#include <cstdio>

#include "verbs.hpp"

namespace kexecctl {

int verbUnstage(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: unstage takes no arguments\n");
        return kUsage;
    }
    c.manager().Unstage(c.opts().interactive);
    if (!c.opts().quiet) std::printf("Unstaged. The next reboot goes through the firmware.\n");
    return kOk;
}

}  // namespace kexecctl
