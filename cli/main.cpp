// kexecctl: control kexecd, in the style of systemd's *ctl tools.
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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
    {"fleet", verbFleet, "status | release [ID]: the [Fleet] reboot slots"},
};

void usage(FILE* out) {
    std::fprintf(out, "Usage: kexecctl [OPTIONS] [COMMAND] [ARGS]\n\nCommands:\n");
    for (auto& v : kVerbs) std::fprintf(out, "  %-9s %s\n", v.name, v.help);
    std::fprintf(out,
                 "\nOptions:\n"
                 "  --json=MODE         JSON output (status, list, check): pretty, short or\n"
                 "                      off; --json alone is pretty\n"
                 "  --no-pager          do not pipe output into a pager\n"
                 "  --no-legend         no column headers and hints\n"
                 "  --cmdline=CMDLINE   stage with this command line instead of the derived one\n"
                 "  --cold              with reboot: reboot through the firmware, unstaging\n"
                 "                      once logind has accepted the reboot\n"
                 "  --no-wait           with reboot: fail (exit 6) instead of waiting for a\n"
                 "                      [Fleet] reboot slot\n"
                 "  --if-needed         with reboot: only when a newer kernel is staged or\n"
                 "                      /run/reboot-required exists; else exit 0 saying why\n"
                 "  --fallback-cold     with reboot: kexec when a kernel is staged, through the\n"
                 "                      firmware otherwise (kured's reboot command)\n"
                 "  -i, --ignore-inhibitors\n"
                 "                      with reboot: reboot even if an inhibitor lock is held\n"
                 "  --no-ask-password   fail instead of asking for a password\n"
                 "  -q, --quiet         print nothing on success\n"
                 "  -h, --help          show this help\n"
                 "  --version           show the version\n"
                 "\nExit status: 0 ok, 1 failed, 2 usage, 3 not found or nothing staged,\n"
                 "4 not authorized, 5 kexecd not reachable, 6 no reboot slot free (--no-wait),\n"
                 "7 fleet coordinator unreachable.\n");
}

// Like systemctl: one line naming the bad option, not the whole help.
int badOption(char** argv, int optopt) {
    const char* arg = argv[optind - 1];
    if (optopt && std::strncmp(arg, "--", 2) != 0)
        std::fprintf(stderr, "kexecctl: invalid option -- '%c'", optopt);
    else
        std::fprintf(stderr, "kexecctl: unrecognized option or missing value '%s'", arg);
    std::fprintf(stderr, "; see 'kexecctl --help'\n");
    return kUsage;
}

bool pages(const std::string& verb) {
    return verb == "status" || verb == "list" || verb == "check";
}

}  // namespace

int main(int argc, char** argv) {
    enum {
        JSON = 256,
        CMDLINE,
        COLD,
        NO_ASK,
        VERSION,
        NO_PAGER,
        NO_LEGEND,
        NO_WAIT,
        IF_NEEDED,
        FALLBACK_COLD
    };
    static const option opts[] = {{"json", optional_argument, nullptr, JSON},
                                  {"no-pager", no_argument, nullptr, NO_PAGER},
                                  {"no-legend", no_argument, nullptr, NO_LEGEND},
                                  {"cmdline", required_argument, nullptr, CMDLINE},
                                  {"cold", no_argument, nullptr, COLD},
                                  {"no-wait", no_argument, nullptr, NO_WAIT},
                                  {"if-needed", no_argument, nullptr, IF_NEEDED},
                                  {"fallback-cold", no_argument, nullptr, FALLBACK_COLD},
                                  {"ignore-inhibitors", no_argument, nullptr, 'i'},
                                  {"no-ask-password", no_argument, nullptr, NO_ASK},
                                  {"quiet", no_argument, nullptr, 'q'},
                                  {"help", no_argument, nullptr, 'h'},
                                  {"version", no_argument, nullptr, VERSION},
                                  {}};
    Options o;
    opterr = 0;  // badOption() says it, in one line
    for (int c; (c = getopt_long(argc, argv, "hqi", opts, nullptr)) != -1;) {
        switch (c) {
            case JSON:
                if (!optarg) {
                    o.json = JsonMode::Pretty;
                } else if (std::strcmp(optarg, "help") == 0) {
                    std::puts("pretty\nshort\noff");
                    return kOk;
                } else if (auto m = parseJsonMode(optarg)) {
                    o.json = *m;
                } else {
                    std::fprintf(stderr,
                                 "kexecctl: unknown JSON mode '%s'; use pretty, short or off\n",
                                 optarg);
                    return kUsage;
                }
                break;
            case NO_PAGER:
                o.pager = false;
                break;
            case NO_LEGEND:
                o.legend = false;
                break;
            case CMDLINE:
                o.cmdline = optarg;
                break;
            case COLD:
                o.cold = true;
                break;
            case NO_WAIT:
                o.noWait = true;
                break;
            case IF_NEEDED:
                o.ifNeeded = true;
                break;
            case FALLBACK_COLD:
                o.fallbackCold = true;
                break;
            case 'i':
                o.ignoreInhibitors = true;
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
                return badOption(argv, optopt);
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
    if ((o.cold || o.ignoreInhibitors || o.noWait || o.ifNeeded || o.fallbackCold) &&
        std::strcmp(v->name, "reboot") != 0) {
        std::fprintf(stderr, "kexecctl: --%s only goes with reboot\n",
                     o.cold               ? "cold"
                     : o.ignoreInhibitors ? "ignore-inhibitors"
                     : o.noWait           ? "no-wait"
                     : o.ifNeeded         ? "if-needed"
                                          : "fallback-cold");
        return kUsage;
    }
    if (o.cold && o.fallbackCold) {
        std::fprintf(stderr, "kexecctl: --cold and --fallback-cold exclude each other\n");
        return kUsage;
    }
    auto& out = Output::get();
    out.setColors(colorsWanted(isatty(STDOUT_FILENO), std::getenv("NO_COLOR"),
                               std::getenv("SYSTEMD_COLORS"), std::getenv("TERM")));
    try {
        Client client(o);
        if (o.pager && !o.quiet && pages(v->name)) out.startPager();
        return v->run(client, args);
    } catch (const sdbus::Error& e) {
        return reportError(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kexecctl: %s\n", e.what());
        return kFailed;
    }
}
