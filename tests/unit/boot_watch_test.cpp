// The /boot watch (daemon/boot_watch.cpp) on a real directory: a change
// made between arm() and start(), while the daemon's first scan runs, still
// reaches the callback; the callback comes once a burst has settled.
#include "boot_watch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "temp_dir.hpp"

namespace kexecd {
namespace {

using namespace std::chrono_literals;

bool waitFor(const std::atomic<int>& n, int want, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (n.load() < want)
        if (std::chrono::steady_clock::now() > end)
            return false;
        else
            std::this_thread::sleep_for(5ms);
    return true;
}

TEST(BootWatch, AChangeBetweenArmAndStartIsNotLost) {
    test::TempDir dir;
    std::atomic<int> settled{0};
    BootWatch watch({dir.path()}, nullptr, 50, [&settled] { ++settled; });
    watch.arm();
    // The daemon's first scan and staging would run here.
    std::ofstream(dir.path() / "vmlinuz-6.12.1") << "new kernel";
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(settled.load(), 0) << "no callback before start()";
    watch.start();
    EXPECT_TRUE(waitFor(settled, 1, 10s)) << "the change made before start() was lost";
    watch.stop();
}

TEST(BootWatch, ABurstSettlesIntoOneCallback) {
    test::TempDir dir;
    std::atomic<int> settled{0};
    BootWatch watch({dir.path()}, nullptr, 300, [&settled] { ++settled; });
    watch.start();
    for (int i = 0; i < 5; ++i) std::ofstream(dir.path() / ("f" + std::to_string(i))) << i;
    EXPECT_TRUE(waitFor(settled, 1, 10s));
    std::this_thread::sleep_for(600ms);
    EXPECT_EQ(settled.load(), 1);
    watch.stop();
}

TEST(BootWatch, NothingChangedNoCallback) {
    test::TempDir dir;
    std::atomic<int> settled{0};
    BootWatch watch({dir.path()}, nullptr, 20, [&settled] { ++settled; });
    watch.arm();
    watch.start();
    std::this_thread::sleep_for(200ms);
    watch.stop();
    EXPECT_EQ(settled.load(), 0);
}

}  // namespace
}  // namespace kexecd
