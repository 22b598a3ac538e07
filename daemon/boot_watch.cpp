#include "boot_watch.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>

#include <chrono>
#include <cstring>

namespace kexecd {

namespace {
constexpr int kTickMs = 5000;
}

BootWatch::BootWatch(std::vector<std::filesystem::path> dirs, unsigned settleMs,
                     std::function<void()> onSettled, std::function<void()> onTick)
    : dirs_(std::move(dirs)),
      settleMs_(settleMs),
      onSettled_(std::move(onSettled)),
      onTick_(std::move(onTick)) {}

BootWatch::~BootWatch() {
    stop();
}

void BootWatch::start() {
    inotify_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!inotify_ || !wake_) {
        spdlog::error("cannot watch /boot: {}", std::strerror(errno));
        return;
    }
    for (auto& d : dirs_) {
        if (::inotify_add_watch(inotify_.get(), d.c_str(),
                                IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                    IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB) < 0 &&
            errno != ENOENT)
            spdlog::warn("cannot watch {}: {}", d.string(), std::strerror(errno));
    }
    thread_ = std::thread([this] { run(); });
}

void BootWatch::stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
}

void BootWatch::run() {
    using Clock = std::chrono::steady_clock;
    bool pending = false;
    Clock::time_point quietSince{}, lastTick = Clock::now();
    for (;;) {
        int timeout = kTickMs;
        if (pending) {
            auto left = std::chrono::milliseconds(settleMs_) - (Clock::now() - quietSince);
            timeout = static_cast<int>(std::max<int64_t>(
                0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
        }
        pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        int n = ::poll(fds, 2, timeout);
        if (n < 0 && errno != EINTR) {
            spdlog::error("watching /boot failed: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents & POLLIN) return;
        if (n > 0 && (fds[0].revents & POLLIN)) {
            alignas(inotify_event) char buf[4096];
            while (::read(inotify_.get(), buf, sizeof buf) > 0) {
            }
            // Every event restarts the settle delay.
            pending = true;
            quietSince = Clock::now();
            continue;
        }
        if (pending && Clock::now() - quietSince >= std::chrono::milliseconds(settleMs_)) {
            pending = false;
            onSettled_();
            lastTick = Clock::now();
        } else if (Clock::now() - lastTick >= std::chrono::milliseconds(kTickMs)) {
            onTick_();
            lastTick = Clock::now();
        }
    }
}

}  // namespace kexecd
