#include <cstdio>

#include "verbs.hpp"

namespace kexecctl {

int verbStage(Client& c, const Args& args) {
    if (args.size() > 1) {
        std::fprintf(stderr, "kexecctl: stage takes at most one VERSION\n");
        return kUsage;
    }
    std::string version = args.empty() ? "" : args[0];
    std::string cmdline = c.opts().cmdline.value_or("");
    if (c.opts().cmdline && cmdline.empty()) {
        std::fprintf(stderr,
                     "kexecctl: --cmdline= needs a value; leave it out to derive the "
                     "command line from the running kernel\n");
        return kUsage;
    }
    std::string staged = c.manager().Stage(version, cmdline, c.opts().interactive);
    if (!c.opts().quiet)
        std::printf("Staged %s. 'systemctl kexec' or 'kexecctl reboot' boots it.\n",
                    staged.c_str());
    return kOk;
}

}  // namespace kexecctl
