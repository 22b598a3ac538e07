// kexecd: keeps the newest kernel in /boot staged for a fast (kexec) reboot
// and serves org.kexecd1 on the system bus.
#include <getopt.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "boot_watch.hpp"
#include "config.hpp"
#include "engine.hpp"
#include "error.hpp"
#include "logging.hpp"
#include "logind.hpp"
#include "manager.hpp"

using namespace kexecd;

namespace {

constexpr const char* kBusName = "org.kexecd1";

struct Options {
    std::filesystem::path root = "/";
    std::filesystem::path config;  // default: <root>/etc/kexecd.conf
    bool simulate = false;
    bool debug = false;
    bool verifyStaged = false;
};

void usage(FILE* out) {
    std::fprintf(out,
                 "Usage: kexecd [OPTIONS]\n"
                 "Keeps the newest kernel in /boot staged for kexec and serves org.kexecd1.\n\n"
                 "  --root DIR      look for /boot, /proc, /sys, /etc and /run under DIR\n"
                 "  --config FILE   configuration file (default: ROOT/etc/kexecd.conf)\n"
                 "  --simulate      stage nothing in the kernel; record and log instead\n"
                 "  --verify-staged check that the staged kernel's files are unchanged, stage\n"
                 "                  it again if not, and exit (the kexec.target hook)\n"
                 "  --debug         verbose logging\n"
                 "  -h, --help      show this help\n"
                 "  --version       show the version\n");
}

// 0 to go on, else an exit code.
int parseArgs(int argc, char** argv, Options* o) {
    enum { ROOT = 256, CONFIG, SIMULATE, DEBUG, VERSION, VERIFY };
    static const option opts[] = {{"root", required_argument, nullptr, ROOT},
                                  {"config", required_argument, nullptr, CONFIG},
                                  {"simulate", no_argument, nullptr, SIMULATE},
                                  {"debug", no_argument, nullptr, DEBUG},
                                  {"verify-staged", no_argument, nullptr, VERIFY},
                                  {"help", no_argument, nullptr, 'h'},
                                  {"version", no_argument, nullptr, VERSION},
                                  {}};
    for (int c; (c = getopt_long(argc, argv, "h", opts, nullptr)) != -1;) {
        switch (c) {
            case ROOT:
                o->root = optarg;
                break;
            case CONFIG:
                o->config = optarg;
                break;
            case SIMULATE:
                o->simulate = true;
                break;
            case DEBUG:
                o->debug = true;
                break;
            case VERIFY:
                o->verifyStaged = true;
                break;
            case 'h':
                usage(stdout);
                return -1;
            case VERSION:
                std::puts("kexecd " KEXECD_VERSION);
                return -1;
            default:
                usage(stderr);
                return 2;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "kexecd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(o->root, ec)) {
        std::fprintf(stderr, "kexecd: --root %s is not a directory\n", o->root.c_str());
        return 2;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    if (int rc = parseArgs(argc, argv, &opt)) return rc < 0 ? 0 : rc;
    setupLogging(opt.debug);

    // Signals go to one thread that stops the loop; block them everywhere
    // else before any thread starts.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    Root root(opt.root);
    std::vector<std::string> warnings;
    Config config;
    try {
        config =
            loadConfig(opt.config.empty() ? root.path("/etc/kexecd.conf") : opt.config, &warnings);
    } catch (const Error& e) {
        spdlog::critical("bad configuration: {}", e.what());
        return 78;  // EX_CONFIG
    }
    for (auto& w : warnings) spdlog::warn("{}", w);

    std::unique_ptr<KexecSyscalls> syscalls;
    std::unique_ptr<KexecBackend> backend;
    std::unique_ptr<Power> power;
    if (opt.simulate) {
        backend = std::make_unique<SimulatedKexec>();
        power = std::make_unique<SimulatedPower>();
        spdlog::info("simulate mode: nothing is loaded into the kernel");
    } else {
        syscalls = makeLinuxSyscalls();
        backend = std::make_unique<LinuxKexec>(root, *syscalls);
        power = std::make_unique<LogindPower>();
    }

    if (opt.verifyStaged) {
        // Runs just before a kexec: whatever happens, log it and let the
        // reboot go on.
        try {
            Engine engine(root, config, *backend);
            spdlog::info("{}", engine.verifyStaged());
        } catch (const std::exception& e) {
            spdlog::error("checking the staged kernel failed: {}", e.what());
        }
        return 0;
    }

    try {
        Engine engine(root, config, *backend);

        // Objects first, then the name: a client that sees the name can use
        // the object at once (its calls wait for the event loop below). The
        // name comes before anything that stages, so that a second kexecd
        // (started by hand next to the service) stops here, changing nothing.
        auto conn = sdbus::createSystemBusConnection();
        ManagerObject manager(*conn, engine, *power);
        conn->requestName(kBusName);
        if (auto problem = engine.start()) spdlog::warn("automatic staging: {}", *problem);

        BootWatch watch(
            {root.path("/boot"), root.path("/usr/lib/modules"), root.path("/lib/modules")},
            config.settleMs,
            [&engine] {
                try {
                    engine.rescan();
                } catch (const std::exception& e) {
                    spdlog::error("staging after a change in /boot failed: {}", e.what());
                }
            },
            [&engine] {
                try {
                    engine.reconcile();
                } catch (const std::exception& e) {
                    spdlog::warn("{}", e.what());
                }
            });
        watch.start();

        spdlog::info("serving {} (root {}, AutoStage={})", kBusName, opt.root.string(),
                     config.autoStage ? "yes" : "no");

        std::atomic<bool> signalled = false;
        std::thread signals([&conn, &signalled, sigs] {
            int sig = 0;
            sigwait(&sigs, &sig);
            if (signalled.exchange(true)) return;  // woken by main below
            spdlog::info("stopping on signal {}", sig);
            conn->leaveEventLoop();
        });
        conn->enterEventLoop();
        watch.stop();
        if (!manager.drain(std::chrono::seconds(5))) {
            spdlog::warn("calls still waiting on polkit at exit; their callers get no reply");
            spdlog::shutdown();
            std::quick_exit(0);
        }
        // The loop can also end because the bus went away: wake the signal
        // thread so it can be joined.
        if (!signalled.exchange(true)) pthread_kill(signals.native_handle(), SIGTERM);
        signals.join();
    } catch (const sdbus::Error& e) {
        spdlog::critical("D-Bus: {} ({})", e.getMessage(), e.getName());
        return 1;
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
    return 0;
}
