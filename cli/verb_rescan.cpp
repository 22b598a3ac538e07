#include <cstdio>

#include "verbs.hpp"

namespace kexecctl {

// For kernel package hooks: look at /boot now instead of after the settle
// delay, and apply the AutoStage policy.
int verbRescan(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: rescan takes no arguments\n");
        return kUsage;
    }
    std::string staged = c.manager().Rescan(c.opts().interactive);
    if (!c.opts().quiet) {
        if (staged.empty())
            std::printf("Nothing staged.\n");
        else
            std::printf("Staged: %s\n", staged.c_str());
    }
    return kOk;
}

}  // namespace kexecctl
