// [Fleet] figures: the time from a reboot slot granted to the reboot issued
// (what the daemon adds between the two, on a sample tree, simulated), and
// the slot-acquisition latency with 50 nodes contending for a group's slots
// through a real etcd on loopback (Debian's etcd-server; without it, the
// in-memory etcd of the unit tests, and it says so). Each node holds its
// slot for a simulated reboot and boot, then gives it back, as the daemon
// does; the nodes back off as the daemon does (capped, jittered).
// Run: build/bench/kexecd-bench-fleet [NODES] [SLOTS] [HOLD_MS]
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "curl_transport.hpp"
#include "engine.hpp"
#include "fake_etcd.hpp"
#include "fleet.hpp"
#include "kexec.hpp"
#include "log.hpp"
#include "power.hpp"
#include "sample_tree.hpp"

namespace fs = std::filesystem;
using namespace kexecd;
using Clock = std::chrono::steady_clock;

extern char** environ;

namespace {

double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

void print(const char* what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
        return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
    };
    std::printf("%-44s n=%zu  min %.2f  median %.2f  p90 %.2f  max %.2f ms\n", what, v.size(),
                v.front(), at(0.5), at(0.9), v.back());
}

int freePort() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

// A one-member etcd in `dir`; pid 0 when there is no etcd.
pid_t startEtcd(const fs::path& dir, std::string* url) {
    if (::access("/usr/bin/etcd", X_OK) != 0) return 0;
    int cport = freePort(), pport = freePort();
    *url = "http://127.0.0.1:" + std::to_string(cport);
    std::string peer = "http://127.0.0.1:" + std::to_string(pport);
    std::vector<std::string> args = {"/usr/bin/etcd",
                                     "--name",
                                     "bench",
                                     "--data-dir",
                                     (dir / "etcd").string(),
                                     "--listen-client-urls",
                                     *url,
                                     "--advertise-client-urls",
                                     *url,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     "bench=" + peer,
                                     "--log-level",
                                     "error"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Its log goes to a file next to its data, not into the figures.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string log = (dir / "etcd.log").string();
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return 0;
    FleetConfig c;
    c.coordinator = CoordinatorKind::Etcd;
    c.endpoints = {*url};
    CurlTransport t(Root(dir), c, std::chrono::milliseconds(500));
    for (int i = 0; i < 200 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
        try {
            if (t.post(*url + "/v3/kv/range", R"({"key":"cGluZw=="})", {}).status == 200)
                return pid;
        } catch (const Error&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return 0;
}

fs::path nodeRoot(const fs::path& dir, int i) {
    fs::path r = dir / ("node" + std::to_string(i));
    fs::create_directories(r / "proc/sys/kernel/random");
    std::ofstream(r / "proc/sys/kernel/random/boot_id") << "boot-" << i << "\n";
    return r;
}

// Slot granted -> reboot issued, as ManagerObject::rebootWithSlot does it.
void grantedToIssued(const fs::path& dir, std::shared_ptr<HttpTransport> transport,
                     const FleetConfig& base) {
    fs::path tree = dir / "tree";
    fixture::sampleSystem(tree);
    SimulatedKexec backend;
    Config config;
    config.autoStage = false;
    Engine engine{Root(tree), config, backend};
    engine.start();
    engine.stageNewest();
    SimulatedPower power;
    FleetConfig c = base;
    c.nodeId = "granted-to-issued";
    Fleet fleet(Root(tree), c, makeCoordinator(c, transport));
    std::vector<double> v;
    for (int i = 0; i < 30; ++i) {
        fleet.acquire(true);
        auto granted = Clock::now();
        engine.reboot(power);
        v.push_back(ms(Clock::now() - granted));
        fleet.release("");
    }
    print("slot granted -> reboot issued (simulated)", v);
}

}  // namespace

int main(int argc, char** argv) {
    int nodes = argc > 1 ? std::atoi(argv[1]) : 50;
    unsigned slots = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 5;
    int holdMs = argc > 3 ? std::atoi(argv[3]) : 200;
    kexecd::log::setLevel(kexecd::log::Level::Warning);  // the simulated reboots log at info
    loadCurl();
    fs::path dir = fs::temp_directory_path() / ("kexecd-bench-fleet-" + std::to_string(getpid()));
    fs::create_directories(dir);

    std::string url;
    pid_t etcd = startEtcd(dir, &url);
    FleetConfig base;
    base.coordinator = CoordinatorKind::Etcd;
    base.group = "bench";
    base.slots = slots;
    std::shared_ptr<HttpTransport> shared;
    if (etcd) {
        base.endpoints = {url};
        std::printf("etcd: %s (real, loopback)\n", url.c_str());
    } else {
        base.endpoints = {"http://in-memory"};
        shared = std::make_shared<test::FakeEtcd>();
        std::printf("etcd: NOT FOUND (/usr/bin/etcd): using the in-memory double instead\n");
    }
    auto transport = [&] {
        return shared ? shared : std::make_shared<CurlTransport>(Root(dir), base);
    };

    grantedToIssued(dir, transport(), base);

    // 50 nodes asking at once; each holds its slot for a reboot and boot.
    std::vector<double> latency(static_cast<size_t>(nodes));
    std::atomic<int> holding = 0, maxHolding = 0;
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < nodes; ++i) {
        threads.emplace_back([&, i] {
            FleetConfig c = base;
            c.nodeId = "node-" + std::to_string(i);
            Fleet f(Root(nodeRoot(dir, i)), c, makeCoordinator(c, transport()));
            auto t0 = Clock::now();
            f.acquire(true);
            latency[static_cast<size_t>(i)] = ms(Clock::now() - t0);
            int h = ++holding;
            for (int m = maxHolding; h > m && !maxHolding.compare_exchange_weak(m, h);) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(holdMs));
            --holding;
            f.release("");
        });
    }
    for (auto& t : threads) t.join();
    char what[96];
    std::snprintf(what, sizeof what, "slot acquisition, %d nodes, %u slots, hold %d ms", nodes,
                  slots, holdMs);
    print(what, latency);
    std::printf("rollout of %d nodes: %.1f s (ideal %.1f s); at most %d holders at once\n", nodes,
                ms(Clock::now() - start) / 1000, double(nodes) / slots * holdMs / 1000,
                maxHolding.load());

    if (etcd) {
        ::kill(etcd, SIGTERM);
        ::waitpid(etcd, nullptr, 0);
    }
    fs::remove_all(dir);
    return maxHolding.load() <= static_cast<int>(slots) ? 0 : 1;
}
