// kexecd: keeps the newest kernel in /boot staged for a fast (kexec) reboot
// and serves org.kexecd1 on the system bus.
#include <getopt.h>
#include <malloc.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>

#include "boot_record.hpp"
#include "boot_watch.hpp"
#include "config.hpp"
#include "curl_transport.hpp"
#include "engine.hpp"
#include "error.hpp"
#include "kexec_tool.hpp"
#include "log.hpp"
#include "logging.hpp"
#include "logind.hpp"
#include "manager.hpp"
#include "systemd_manager.hpp"

using namespace kexecd;

namespace {

constexpr const char* kBusName = "org.kexecd1";

struct Options {
    std::filesystem::path root = "/";
    std::filesystem::path config;  // default: <root>/etc/kexecd.conf
    bool simulate = false;
    bool logindInSimulation = false;
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
                 "  --simulate-with-logind\n"
                 "                  --simulate, but reboot through logind as without it; for\n"
                 "                  tests on a private bus only (refused on the system bus)\n"
                 "  --verify-staged check that the staged kernel's files are unchanged, stage\n"
                 "                  it again if not, and exit (the kexec.target hook)\n"
                 "  --debug         verbose logging\n"
                 "  -h, --help      show this help\n"
                 "  --version       show the version\n");
}

// --simulate-with-logind sends a real RebootWithFlags: only to a bus that
// is not the machine's own.
bool onPrivateBus() {
    const char* a = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
    std::string_view addr = a ? a : "";
    constexpr std::string_view prefix = "unix:path=";
    if (addr.substr(0, prefix.size()) != prefix) return false;
    std::string path(addr.substr(prefix.size()));
    path = path.substr(0, path.find(','));
    struct stat mine {};
    if (::stat(path.c_str(), &mine) != 0) return false;
    for (const char* sys : {"/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket"}) {
        struct stat st {};
        if (::stat(sys, &st) == 0 && st.st_dev == mine.st_dev && st.st_ino == mine.st_ino)
            return false;
    }
    return true;
}

// 0 to go on, else an exit code.
int parseArgs(int argc, char** argv, Options* o) {
    enum { ROOT = 256, CONFIG, SIMULATE, SIMULATE_LOGIND, DEBUG, VERSION, VERIFY };
    static const option opts[] = {{"root", required_argument, nullptr, ROOT},
                                  {"config", required_argument, nullptr, CONFIG},
                                  {"simulate", no_argument, nullptr, SIMULATE},
                                  {"simulate-with-logind", no_argument, nullptr, SIMULATE_LOGIND},
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
            case SIMULATE_LOGIND:
                o->simulate = o->logindInSimulation = true;
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
    if (o->logindInSimulation && !onPrivateBus()) {
        std::fprintf(stderr,
                     "kexecd: --simulate-with-logind asks logind for a real reboot; it needs "
                     "DBUS_SYSTEM_BUS_ADDRESS=unix:path=... naming a private test bus\n");
        return 2;
    }
    return 0;
}

// Waits for the blocked signals on a thread of its own. SIGTERM and SIGINT
// stop the event loop; SIGHUP (sent by tools that expect a reload) is logged
// and otherwise ignored. Joined on every way out of its scope, an exception
// unwinding included: a joinable std::thread destroyed there is
// std::terminate, and losing the bus used to abort kexecd that way.
class SignalThread {
  public:
    SignalThread(const sigset_t& sigs, std::function<void()> onStop, std::function<void()> onReload)
        : sigs_(sigs),
          onStop_(std::move(onStop)),
          onReload_(std::move(onReload)),
          thread_([this] { run(); }) {}
    ~SignalThread() {
        if (!done_.exchange(true)) pthread_kill(thread_.native_handle(), SIGTERM);
        thread_.join();
    }

  private:
    void run() {
        for (;;) {
            int sig = 0;
            if (sigwait(&sigs_, &sig) != 0) continue;
            if (sig == SIGHUP && !done_) {
                onReload_();
                continue;
            }
            if (done_.exchange(true)) return;  // woken by the destructor
            log::info("stopping on signal {}", sig);
            onStop_();
            return;
        }
    }

    sigset_t sigs_;
    std::function<void()> onStop_;
    std::function<void()> onReload_;
    std::atomic<bool> done_ = false;
    std::thread thread_;  // last: started once the rest exists
};

Config readConfig(const Options& opt, const Root& root) {
    std::vector<std::string> warnings;
    Config config =
        opt.config.empty() ? loadSystemConfig(root, &warnings) : loadConfig(opt.config, &warnings);
    for (auto& w : warnings) log::warn("{}", w);
    return config;
}

// As a service of systemd (kexecd.service, kexecd-verify.service), whose
// capabilities are CAP_SYS_BOOT alone, the `kexec -l` fallback runs in a
// transient unit with what kexec-tools needs (see kexec_tool.hpp). Run by
// hand as root, it needs none.
KexecToolOptions kexecToolOptions(const Root& root) {
    KexecToolOptions o;
    o.loadDir = root.path("/run/kexecd/load").string();
    if (!std::getenv("INVOCATION_ID") || ::sd_booted() <= 0) return o;
    for (auto p : {"/usr/bin/systemd-run", "/bin/systemd-run"})
        if (::access(p, X_OK) == 0) {
            o.systemdRun = p;
            break;
        }
    if (o.systemdRun.empty())
        log::warn("no systemd-run: the kexec -l fallback runs with kexecd's own capabilities");
    return o;
}

// SIGHUP: a configuration that does not parse changes nothing, like a failed
// `systemctl reload` of systemd's own daemons.
void reloadConfig(const Options& opt, const Root& root, Engine& engine, const Fleet& fleet) {
    try {
        Config config = readConfig(opt, root);
        // The coordinator is set up once: a slot may be held through it.
        if (!(config.fleet == fleet.config()))
            log::warn(
                "[Fleet] changed: the change applies when kexecd starts again "
                "(systemctl restart kexecd)");
        bool autoStage = config.autoStage;
        std::string staged = engine.reload(std::move(config));
        log::info("reloaded the configuration (AutoStage={}){}", autoStage ? "yes" : "no",
                  staged.empty() ? "" : "; staged " + staged);
    } catch (const Error& e) {
        log::error("configuration not reloaded, the old one stays in force: {}", e.what());
    } catch (const std::exception& e) {
        log::error("reloading the configuration failed: {}", e.what());
    }
}

// Serves the API until a signal or the loss of the bus; returns the exit
// status.
int serve(const Options& opt, const Root& root, const Config& config, KexecBackend& backend,
          Power& power, const sigset_t& sigs) {
    Engine engine(root, config, backend);
    Fleet fleet(
        root, config.fleet,
        makeCoordinator(config.fleet, config.fleet.enabled()
                                          ? std::make_shared<CurlTransport>(root, config.fleet)
                                          : nullptr));

    // Objects first, then the name: a client that sees the name can use
    // the object at once (its calls wait for the event loop below). The
    // name comes before anything that stages, so that a second kexecd
    // (started by hand next to the service) stops here, changing nothing.
    auto conn = sdbus::createSystemBusConnection();
    auto times = loaderTimes();
    ManagerObject manager(
        *conn, engine, power,
        startBootRecord(root, times.firmwareTimestampUsec, times.loaderTimestampUsec), &fleet);
    conn->requestName(kBusName);

    // The boot loader's configuration too: update-grub and grubby change the
    // command line a cold boot gets (CmdlineSource=); and the ESP's entries.
    std::vector<std::filesystem::path> watched{
        root.path("/boot"),      root.path("/usr/lib/modules"), root.path("/lib/modules"),
        root.path("/boot/grub"), root.path("/boot/grub2"),      root.path("/etc/kernel")};
    auto espDirs = [&root] {
        std::vector<std::filesystem::path> dirs;
        for (auto& d : entryWatchDirs(root)) dirs.push_back(root.path(d));
        return dirs;
    };
    BootWatch watch(watched, espDirs, config.settleMs, [&engine] {
        try {
            engine.rescan();
        } catch (const std::exception& e) {
            log::error("staging after a change in /boot failed: {}", e.what());
        }
        // As after a burst of calls (WorkerPool): what the scan freed goes
        // back to the system, not into glibc's free lists.
        ::malloc_trim(0);
    });
    // Watching before the first scan: a kernel installed, or a UKI put on
    // the ESP, while it stages (seconds, for a large image) is seen after
    // it, not missed until the next change (found by the Secure Boot VM
    // guest).
    watch.arm();
    if (auto problem = engine.start()) log::warn("automatic staging: {}", *problem);
    watch.start();

    // After a reboot that took a [Fleet] slot: give it back once systemd
    // says the system is up. On a thread of its own: it may wait long.
    // Without [Fleet] there is nothing to give back and no thread (one that
    // ended at once made the thread count race the daemon's start).
    // Stopped and joined on every way out of this scope (see SignalThread).
    struct ReleaseThread {
        Fleet& fleet;
        std::thread thread;
        ~ReleaseThread() {
            fleet.stop();
            if (thread.joinable()) thread.join();
        }
    } release{fleet, {}};
    if (fleet.enabled()) {
        release.thread = std::thread([&fleet] {
            try {
                fleet.releaseAfterBoot([] { return systemState(); });
            } catch (const std::exception& e) {
                log::error("releasing the reboot slot: {}", e.what());
            }
        });
    }

    log::info("serving {} (root {}, AutoStage={})", kBusName, opt.root.string(),
              config.autoStage ? "yes" : "no");
    ::sd_notify(0, ("READY=1\nSTATUS=" + statusLine(engine.status())).c_str());
    // The start's scan and staging are done: hand back what they freed (a
    // hundred KiB of heap otherwise).
    ::malloc_trim(0);

    int rc = 0;
    {
        SignalThread signals(
            sigs, [&conn] { conn->leaveEventLoop(); },
            [&opt, &root, &engine, &fleet] { reloadConfig(opt, root, engine, fleet); });
        try {
            conn->enterEventLoop();
        } catch (const sdbus::Error& e) {
            // The bus daemon went away (restarted, or killed). Nothing can
            // reach us any more: exit, non-zero, so that systemd or bus
            // activation starts a kexecd on the new bus.
            log::critical("lost the connection to the system bus: {}; exiting", e.getMessage());
            rc = 1;
        }
    }
    ::sd_notify(0, "STOPPING=1");
    watch.stop();
    fleet.stop();
    if (!manager.shutdown(std::chrono::seconds(5))) {
        // A worker is stuck (logind not answering): it may still use the
        // connection and the engine, so none of it is freed.
        log::warn("exiting with a call still running; its caller gets no reply");
        std::quick_exit(rc);
    }
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    if (int rc = parseArgs(argc, argv, &opt)) return rc < 0 ? 0 : rc;
    setupLogging(opt.debug);

    // Signals go to one thread (SignalThread); block them everywhere else
    // before any thread starts. SIGHUP among them: its default action would
    // end the daemon.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    Root root(opt.root);
    Config config;
    try {
        config = readConfig(opt, root);
        if (config.fleet.enabled() && config.fleet.endpoints.empty())
            throw Error(
                ErrorCode::InvalidArgument,
                "[Fleet] Coordinator=" + std::string(coordinatorName(config.fleet.coordinator)) +
                    " needs Endpoints=");
        // Still single-threaded here, as curl_global_init wants.
        if (config.fleet.enabled()) loadCurl();
    } catch (const Error& e) {
        log::critical("bad configuration: {}", e.what());
        return 78;  // EX_CONFIG
    }

    std::unique_ptr<KexecSyscalls> syscalls;
    std::unique_ptr<KexecBackend> backend;
    std::unique_ptr<Power> power;
    if (opt.simulate) {
        backend = std::make_unique<SimulatedKexec>();
        if (opt.logindInSimulation)
            power = std::make_unique<LogindPower>();
        else
            power = std::make_unique<SimulatedPower>();
        log::info("simulate mode: nothing is loaded into the kernel{}",
                  opt.logindInSimulation ? "; reboots go to logind on a private bus" : "");
    } else {
        syscalls = makeLinuxSyscalls(kexecToolOptions(root));
        backend = std::make_unique<LinuxKexec>(root, *syscalls);
        power = std::make_unique<LogindPower>();
    }

    if (opt.verifyStaged) {
        // Runs just before a kexec: whatever happens, log it and let the
        // reboot go on.
        try {
            Engine engine(root, config, *backend);
            log::info("{}", engine.verifyStaged());
            // Whether the next boot is a kexec: for BootKind after it.
            recordShutdown(root, engine.status().loaded);
        } catch (const std::exception& e) {
            log::error("checking the staged kernel failed: {}", e.what());
        }
        return 0;
    }

    try {
        return serve(opt, root, config, *backend, *power, sigs);
    } catch (const sdbus::Error& e) {
        log::critical("D-Bus: {} ({})", e.getMessage(), e.getName());
        return 1;
    } catch (const std::exception& e) {
        log::critical("{}", e.what());
        return 1;
    }
    return 0;
}
