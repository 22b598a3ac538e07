#pragma once
// When the /boot watch has to wake up next. An idle kexecd must cost
// nothing: while nothing changed it sleeps until the next inotify event, with
// no periodic tick (there used to be one every 5 s, 12 wakeups a minute, to
// notice kernels loaded by other tools; those are now noticed when a client
// asks, see Engine::reconcileIfIdle). After a change it wakes once, when
// /boot has been quiet for the settle delay. Pure, the time passed in, so
// tests drive it with a fake clock.
#include <chrono>

namespace kexecd {

class SettleSchedule {
  public:
    using Clock = std::chrono::steady_clock;

    explicit SettleSchedule(std::chrono::milliseconds settle) : settle_(settle) {}

    // Something changed: (re)starts the settle delay.
    void changed(Clock::time_point now) {
        pending_ = true;
        lastChange_ = now;
    }

    // The poll() timeout: -1 (block until an event) when nothing is pending,
    // else the milliseconds left until the delay is over, rounded up so that
    // a wakeup is never early and spun on.
    int timeoutMs(Clock::time_point now) const {
        if (!pending_) return -1;
        auto left = lastChange_ + settle_ - now;
        if (left <= Clock::duration::zero()) return 0;
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        return ms > kMaxMs ? kMaxMs : static_cast<int>(ms);
    }

    // True, once, when a change has been followed by the settle delay of
    // quiet: time to look at /boot.
    bool takeDue(Clock::time_point now) {
        if (!pending_ || now - lastChange_ < settle_) return false;
        pending_ = false;
        return true;
    }

    bool pending() const { return pending_; }

  private:
    static constexpr long long kMaxMs = 1 << 30;
    std::chrono::milliseconds settle_;
    bool pending_ = false;
    Clock::time_point lastChange_{};
};

}  // namespace kexecd
