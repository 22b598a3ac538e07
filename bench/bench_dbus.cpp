// Figures for what a client (kexecctl, a desktop applet) pays per call on
// top of the core work that kexecd-bench measures: the D-Bus round trip
// through a bus and a running kexecd.
//
// Run with: meson test -C build --benchmark dbus
//       or: build/bench/kexecd-bench-dbus KEXECD SOURCE_ROOT [--500-kernels] [--benchmark_...]
// (KEXECD is the built daemon, SOURCE_ROOT the source tree, for the bus
// configuration and the shipped bus policy.)
//
// It starts everything it talks to and stops it at exit, on errors too: a
// private system bus (tests/data/system-bus.conf.in with the shipped
// dbus/org.kexecd1.conf, as scripts/private-bus.sh does) and
// kexecd --simulate on a sample root in a temporary directory. Nothing
// reaches the machine's system bus or loads anything into its kernel.
//
// It needs root: the shipped policy lets only root own org.kexecd1, and only
// a root caller gets Stage and Unstage past the daemon without a polkitd on
// the bus. Without root it says so loudly and exits 0 without figures (these
// are figures, not tests).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "manager.hpp"
#include "sample_tree.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kBusName = "org.kexecd1";

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what);
}

std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void replaceAll(std::string* s, const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = s->find(from, at)) != std::string::npos; at += to.size())
        s->replace(at, from.size(), to);
}

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "kexecd-bench-dbus-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) fail("mkdtemp: " + std::string(strerror(errno)));
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    void reset(int fd = -1) {
        if (fd_ >= 0) close(fd_);
        fd_ = fd;
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

// A child process, stopped by its PID when this goes away: SIGTERM, then
// SIGKILL if it has not exited within 5 s.
class Child {
  public:
    Child() = default;
    ~Child() { stop(); }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    // stdin is /dev/null; stdout goes to outFd and stderr to errFd unless -1.
    void spawn(const std::vector<std::string>& args, int outFd, int errFd) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (outFd >= 0) posix_spawn_file_actions_adddup2(&fa, outFd, STDOUT_FILENO);
        if (errFd >= 0) posix_spawn_file_actions_adddup2(&fa, errFd, STDERR_FILENO);
        int err = posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (err != 0) {
            pid_ = -1;
            fail("cannot start " + args[0] + ": " + strerror(err));
        }
    }

    // Whether it still runs; reaps it (and notes how it ended) if not.
    bool running() {
        if (pid_ < 0) return false;
        if (waitpid(pid_, &status_, WNOHANG) == 0) return true;
        pid_ = -1;
        return false;
    }

    std::string howItEnded() const {
        if (WIFEXITED(status_)) return "exit status " + std::to_string(WEXITSTATUS(status_));
        if (WIFSIGNALED(status_)) return "killed by signal " + std::to_string(WTERMSIG(status_));
        return "status " + std::to_string(status_);
    }

    void stop() {
        if (!running()) return;
        kill(pid_, SIGTERM);
        for (auto deadline = std::chrono::steady_clock::now() + 5s;
             std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(10ms))
            if (!running()) return;
        kill(pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
        pid_ = -1;
    }

  private:
    pid_t pid_ = -1;
    int status_ = 0;
};

// The private bus and the daemon. Members go away in reverse order: the
// daemon stops, then the bus, then the temporary directory is removed.
class Daemon {
  public:
    // extraKernels: Debian kernels added to the sample /boot.
    Daemon(const fs::path& kexecd, const fs::path& sourceRoot, int extraKernels = 0) {
        const fs::path& dir = tmp_.path();
        fs::path root = dir / "root";
        kexecd::fixture::sampleSystem(root);
        kexecd::fixture::Tree tree(root);
        for (int i = 0; i < extraKernels; ++i)
            tree.debianKernel("5.10.0-" + std::to_string(i + 1) + "-amd64");
        fs::path config = dir / "kexecd.conf";
        // No staging of its own: the Stage/Unstage figures start unstaged
        // and every iteration stages and unstages once.
        kexecd::fixture::writeFile(config, "[Stage]\nAutoStage=no\n");

        // The bus: with --nofork it is our child, and the address it prints
        // on stdout says it is listening.
        fs::path socket = dir / "system_bus_socket";
        std::string busConf = readFile(sourceRoot / "tests/data/system-bus.conf.in");
        if (busConf.empty())
            fail("cannot read " + (sourceRoot / "tests/data/system-bus.conf.in").string());
        replaceAll(&busConf, "@SOCKET@", socket.string());
        replaceAll(&busConf, "@EXTRA@",
                   "<include>" + (sourceRoot / "dbus/org.kexecd1.conf").string() + "</include>");
        kexecd::fixture::writeFile(dir / "bus.conf", busConf);
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) fail("pipe: " + std::string(strerror(errno)));
        busOut_.reset(p[0]);
        Fd busIn(p[1]);
        // Its complaints (it cannot raise its fd limit in a container) would
        // clutter the figures: into a file, shown if it does not start.
        fs::path busLog = dir / "dbus-daemon.log";
        Fd busErr(createLog(busLog));
        bus_.spawn({"dbus-daemon", "--config-file=" + (dir / "bus.conf").string(), "--nofork",
                    "--print-address"},
                   busIn.get(), busErr.get());
        busIn.reset();
        std::string address = readLine(busOut_.get(), 10s);
        if (address.empty()) fail("dbus-daemon did not start; its messages:\n" + readFile(busLog));
        // Everything from here on, kexecd and our own connections, uses the
        // private bus and never the machine's.
        setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);

        log_ = dir / "kexecd.log";
        Fd logFd(createLog(log_));
        daemon_.spawn(
            {kexecd.string(), "--root", root.string(), "--config", config.string(), "--simulate"},
            logFd.get(), logFd.get());

        auto conn = sdbus::createSystemBusConnection();
        auto dbus = sdbus::createProxy(*conn, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        for (auto deadline = std::chrono::steady_clock::now() + 15s;;
             std::this_thread::sleep_for(20ms)) {
            bool owned = false;
            dbus->callMethod("NameHasOwner")
                .onInterface("org.freedesktop.DBus")
                .withArguments(std::string(kBusName))
                .storeResultsTo(owned);
            if (owned) break;
            if (!daemon_.running())
                fail("kexecd ended (" + daemon_.howItEnded() + ") before it took " + kBusName +
                     "; its log:\n" + log());
            if (std::chrono::steady_clock::now() > deadline)
                fail(std::string("kexecd did not take ") + kBusName + " within 15 s; its log:\n" +
                     log());
        }
    }

    std::string log() const { return readFile(log_); }
    bool running() { return daemon_.running(); }

  private:
    static int createLog(const fs::path& p) {
        int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) fail("cannot create " + p.string() + ": " + strerror(errno));
        return fd;
    }

    // One line from fd, without the newline; "" on EOF or timeout.
    static std::string readLine(int fd, std::chrono::milliseconds timeout) {
        std::string line;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (line.find('\n') == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd pfd{fd, POLLIN, 0};
            if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return "";
            char buf[256];
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0) return "";
            line.append(buf, static_cast<size_t>(n));
        }
        return line.substr(0, line.find('\n'));
    }

    TempDir tmp_;
    fs::path log_;
    Fd busOut_;  // kept open so that the bus never writes into a closed pipe
    Child bus_;
    Child daemon_;
};

using kexecctl::Manager;

Manager* gManager = nullptr;
bool gFailed = false;

// Runs one round trip an iteration; a D-Bus error stops the benchmark with
// the error (and makes the program exit 1) instead of aborting the run.
template <typename F>
void roundTrips(benchmark::State& st, F&& call) {
    for (auto _ : st) {
        try {
            call();
        } catch (const sdbus::Error& e) {
            gFailed = true;
            st.SkipWithError((e.getName() + ": " + e.getMessage()).c_str());
            break;
        }
    }
}

// The floor: sd-bus in the daemon answers Peer.Ping itself, so this is the
// bus and the two event loops, with no kexecd code involved.
void BM_Ping(benchmark::State& st) {
    roundTrips(st, [] { gManager->ping(); });
}

// kexecctl list: the daemon lists its (warm) discovery of the sample /boot.
void BM_ListKernels(benchmark::State& st) {
    size_t kernels = 0;
    roundTrips(st, [&] { kernels = gManager->ListKernels().size(); });
    st.counters["kernels"] = static_cast<double>(kernels);
}

// The same on a /boot with 500 kernels (the 5 of the sample and 495 more,
// each with its initrd, config, System.map and modules directory): what
// kexecctl list costs on a machine that never removes old kernels. Runs
// only in a run of its own, against a daemon on such a /boot (see main).
constexpr int kManyKernels = 500;
void BM_ListKernels500(benchmark::State& st) {
    size_t kernels = 0;
    roundTrips(st, [&] { kernels = gManager->ListKernels().size(); });
    st.counters["kernels"] = static_cast<double>(kernels);
}

// kexecctl status: all properties in one call.
void BM_GetAllProperties(benchmark::State& st) {
    size_t props = 0;
    roundTrips(st, [&] { props = gManager->all().size(); });
    st.counters["properties"] = static_cast<double>(props);
}

// kexecctl stage + unstage, simulated. Each of the two calls runs in a
// worker thread of the daemon, which first asks the bus who the caller is on
// a connection of its own (root: no polkit), so this is far above two pings.
void BM_StageUnstage(benchmark::State& st) {
    roundTrips(st, [&] {
        if (gManager->Stage("", "", false).empty())
            throw sdbus::Error("kexecd-bench-dbus.Error", "Stage returned no version");
        gManager->Unstage(false);
    });
}

// Wall-clock time: the client sleeps while the bus and the daemon work, so
// its CPU time says nothing (and would make the library run far too many
// iterations).
BENCHMARK(BM_Ping)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ListKernels)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GetAllProperties)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StageUnstage)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ListKernels500)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);  // takes the --benchmark_* options out
    bool many = argc == 4 && std::string(argv[3]) == "--500-kernels";
    if (argc != 3 && !many) {
        std::fprintf(stderr,
                     "Usage: %s KEXECD SOURCE_ROOT [--500-kernels] [--benchmark_...]\n"
                     "  KEXECD         the built kexecd\n"
                     "  SOURCE_ROOT    kexecd's source tree (tests/data, dbus/org.kexecd1.conf)\n"
                     "  --500-kernels  only BM_ListKernels500, on a /boot with 500 kernels\n",
                     argv[0]);
        return 2;
    }
    if (geteuid() != 0) {
        std::fprintf(stderr,
                     "\n"
                     "*****************************************************************\n"
                     "*** kexecd-bench-dbus: the D-Bus benchmarks did NOT run.      ***\n"
                     "*** They need root: the shipped bus policy lets only root own ***\n"
                     "*** org.kexecd1, and only a root caller may Stage/Unstage     ***\n"
                     "*** without polkit. Run them as root for these figures.       ***\n"
                     "*****************************************************************\n\n");
        return 0;
    }
    try {
        // BM_ListKernels500 needs a /boot of its own: one daemon per run
        // (libbenchmark 1.7 crashes when run twice in one process).
        Daemon daemon(argv[1], argv[2], many ? kManyKernels - 5 : 0);
        {
            auto conn = sdbus::createSystemBusConnection();
            Manager manager(*conn);
            gManager = &manager;
            benchmark::RunSpecifiedBenchmarks(many ? "ListKernels500" : "-ListKernels500");
            gManager = nullptr;
        }
        if (!daemon.running()) {
            std::fprintf(stderr, "kexecd-bench-dbus: kexecd ended during the run\n");
            gFailed = true;
        }
        if (gFailed) std::fprintf(stderr, "----- kexecd log -----\n%s", daemon.log().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kexecd-bench-dbus: %s\n", e.what());
        return 1;
    }
    benchmark::Shutdown();
    return gFailed ? 1 : 0;
}
