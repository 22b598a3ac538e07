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
    BootWatch(std::vector<std::filesystem::path> dirs, unsigned settleMs,
              std::function<void()> onSettled);
    ~BootWatch();
    void start();
    void stop();

  private:
    void run();

    std::vector<std::filesystem::path> dirs_;
    unsigned settleMs_;
    std::function<void()> onSettled_;
    UniqueFd inotify_, wake_;
    std::thread thread_;
};

}  // namespace kexecd
