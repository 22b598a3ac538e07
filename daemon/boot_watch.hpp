#pragma once
// Watches /boot (and the modules directories) and calls back once they have
// been quiet for the settle delay: a package manager writes a kernel, its
// modules and then an initrd over several seconds, and nothing half-written
// may be staged. Also ticks every few seconds so that a kernel loaded or
// unloaded by another tool shows up in the properties.
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
              std::function<void()> onSettled, std::function<void()> onTick);
    ~BootWatch();
    void start();
    void stop();

  private:
    void run();

    std::vector<std::filesystem::path> dirs_;
    unsigned settleMs_;
    std::function<void()> onSettled_, onTick_;
    UniqueFd inotify_, wake_;
    std::thread thread_;
};

}  // namespace kexecd
