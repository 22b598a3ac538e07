#include "boot_watch.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "log.hpp"
#include "settle.hpp"

namespace kexecd {

BootWatch::BootWatch(std::vector<std::filesystem::path> dirs,
                     std::function<std::vector<std::filesystem::path>()> moreDirs,
                     unsigned settleMs, std::function<void()> onSettled)
    : dirs_(std::move(dirs)),
      moreDirs_(std::move(moreDirs)),
      settleMs_(settleMs),
      onSettled_(std::move(onSettled)) {}

BootWatch::~BootWatch() {
    stop();
}

void BootWatch::arm() {
    armed_ = true;
    inotify_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!inotify_ || !wake_) {
        log::error("cannot watch /boot: {}", std::strerror(errno));
        inotify_.reset();
        return;
    }
    addWatches();
}

void BootWatch::start() {
    if (!armed_) arm();
    if (!inotify_ || thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

// Adding a watch again is cheap and returns the same one; a directory that
// went away took its watch with it.
void BootWatch::addWatches() {
    auto all = dirs_;
    if (moreDirs_) {
        auto more = moreDirs_();
        all.insert(all.end(), more.begin(), more.end());
    }
    for (auto& d : all) {
        if (::inotify_add_watch(inotify_.get(), d.c_str(),
                                IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                    IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB) >= 0 ||
            errno == ENOENT || errno == ENOTDIR)
            continue;
        if (std::find(warned_.begin(), warned_.end(), d) != warned_.end()) continue;
        warned_.push_back(d);
        log::warn("cannot watch {}: {}", d.string(), std::strerror(errno));
    }
}

void BootWatch::stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
}

void BootWatch::run() {
    using Clock = SettleSchedule::Clock;
    SettleSchedule schedule{std::chrono::milliseconds(settleMs_)};
    for (;;) {
        pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        // -1 while nothing is pending: asleep until /boot changes or stop().
        int n = ::poll(fds, 2, schedule.timeoutMs(Clock::now()));
        if (n < 0 && errno != EINTR) {
            log::error("watching /boot failed: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents & POLLIN) return;
        if (n > 0 && (fds[0].revents & POLLIN)) {
            alignas(inotify_event) char buf[4096];
            while (::read(inotify_.get(), buf, sizeof buf) > 0) {
            }
            addWatches();
            schedule.changed(Clock::now());
            continue;
        }
        if (schedule.takeDue(Clock::now())) onSettled_();
    }
}

}  // namespace kexecd
