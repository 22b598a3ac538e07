#pragma once
// Watches /boot (and the modules directories) and calls back once they have
// been quiet for the settle delay: a package manager writes a kernel, its
// modules and then an initrd over several seconds, and nothing half-written
// may be staged. Nothing else: no periodic tick (see settle.hpp), so an idle
// daemon sleeps until /boot changes.
#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "unique_fd.hpp"

namespace kexecd {

class BootWatch {
  public:
    // `moreDirs` is asked again after every change, for directories that
    // come and go (the ESP's).
    BootWatch(std::vector<std::filesystem::path> dirs,
              std::function<std::vector<std::filesystem::path>()> moreDirs, unsigned settleMs,
              std::function<void()> onSettled);
    ~BootWatch();
    // Adds the watches: what changes from now on is queued in the kernel
    // and handled once start() runs, so that a change made while the
    // daemon's first scan and staging run is not lost.
    void arm();
    // Arms (if arm() was not called) and handles changes on a thread.
    void start();
    void stop();

  private:
    void run();
    void addWatches();

    std::vector<std::filesystem::path> dirs_;
    std::function<std::vector<std::filesystem::path>()> moreDirs_;
    std::vector<std::filesystem::path> warned_;  // once per directory
    unsigned settleMs_;
    bool armed_ = false;  // arm() ran, whether or not it could watch
    std::function<void()> onSettled_;
    UniqueFd inotify_, wake_;
    std::thread thread_;
};

}  // namespace kexecd
