// kexecctl: control kexecd, in the style of systemd's *ctl tools.
#include <getopt.h>

#include <cstdio>
#include <cstring>

#include "verbs.hpp"

using namespace kexecctl;

namespace {

struct Verb {
    const char* name;
    int (*run)(Client&, const Args&);
    const char* help;
};

constexpr Verb kVerbs[] = {
    {"status", verbStatus, "show what is staged (default)"},
    {"list", verbList, "list the kernels in /boot, newest first"},
    {"stage", verbStage, "[VERSION] stage VERSION, or the newest bootable kernel"},
    {"unstage", verbUnstage, "unload the staged kernel"},
    {"reboot", verbReboot, "reboot into the staged kernel (--cold: through the firmware)"},
    {"rescan", verbRescan, "look at /boot now and apply the AutoStage policy"},
    {"check", verbCheck, "would a fast reboot work, and boot what a cold one would?"},
    {"is-staged", verbIsStaged, "exit 0 when a kernel is staged, 1 when not (for scripts)"},
};

void usage(FILE* out) {
    std::fprintf(out, "Usage: kexecctl [OPTIONS] [COMMAND] [ARGS]\n\nCommands:\n");
    for (auto& v : kVerbs) std::fprintf(out, "  %-8s %s\n", v.name, v.help);
    std::fprintf(out,
                 "\nOptions:\n"
                 "  --json              machine-readable output (status, list, check)\n"
                 "  --cmdline=CMDLINE   stage with this command line instead of the derived one\n"
                 "  --cold              with reboot: unstage and reboot through the firmware\n"
                 "  --no-ask-password   fail instead of asking for a password\n"
                 "  -q, --quiet         print nothing on success\n"
                 "  -h, --help          show this help\n"
                 "  --version           show the version\n"
                 "\nExit status: 0 ok, 1 failed, 2 usage, 3 not found or nothing staged,\n"
                 "4 not authorized, 5 kexecd not reachable.\n");
}

}  // namespace

int main(int argc, char** argv) {
    enum { JSON = 256, CMDLINE, COLD, NO_ASK, VERSION };
    static const option opts[] = {{"json", no_argument, nullptr, JSON},
                                  {"cmdline", required_argument, nullptr, CMDLINE},
                                  {"cold", no_argument, nullptr, COLD},
                                  {"no-ask-password", no_argument, nullptr, NO_ASK},
                                  {"quiet", no_argument, nullptr, 'q'},
                                  {"help", no_argument, nullptr, 'h'},
                                  {"version", no_argument, nullptr, VERSION},
                                  {}};
    Options o;
    for (int c; (c = getopt_long(argc, argv, "hq", opts, nullptr)) != -1;) {
        switch (c) {
            case JSON:
                o.json = true;
                break;
            case CMDLINE:
                o.cmdline = optarg;
                break;
            case COLD:
                o.cold = true;
                break;
            case NO_ASK:
                o.interactive = false;
                break;
            case 'q':
                o.quiet = true;
                break;
            case 'h':
                usage(stdout);
                return kOk;
            case VERSION:
                std::puts("kexecctl " KEXECD_VERSION);
                return kOk;
            default:
                usage(stderr);
                return kUsage;
        }
    }
    std::string verb = optind < argc ? argv[optind++] : "status";
    Args args(argv + optind, argv + argc);

    const Verb* v = nullptr;
    for (auto& cand : kVerbs)
        if (verb == cand.name) v = &cand;
    if (!v) {
        std::fprintf(stderr, "kexecctl: unknown command '%s'; see 'kexecctl --help'\n",
                     verb.c_str());
        return kUsage;
    }
    if (o.cmdline && std::strcmp(v->name, "stage") != 0) {
        std::fprintf(stderr, "kexecctl: --cmdline only goes with stage\n");
        return kUsage;
    }
    if (o.cold && std::strcmp(v->name, "reboot") != 0) {
        std::fprintf(stderr, "kexecctl: --cold only goes with reboot\n");
        return kUsage;
    }
    try {
        Client client(o);
        return v->run(client, args);
    } catch (const sdbus::Error& e) {
        return reportError(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kexecctl: %s\n", e.what());
        return kFailed;
    }
}
