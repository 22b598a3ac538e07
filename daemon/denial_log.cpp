#include "denial_log.hpp"

#include "event_log.hpp"
#include "log.hpp"

namespace kexecd {

DenialLog::DenialLog() : thread_([this](std::stop_token stop) { run(stop); }) {}

DenialLog::~DenialLog() {
    thread_.request_stop();
    thread_.join();
    std::lock_guard lock(mutex_);
    summarizeLocked();
}

void DenialLog::note(uid_t uid, const std::string& line) {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    if (now - windowStart_ >= kWindow) {
        summarizeLocked();
        windowStart_ = now;
        lines_ = 0;
    }
    if (lines_ < kLines) {
        ++lines_;
        Actor who{"uid " + std::to_string(uid), std::nullopt, 0};
        if (uid != static_cast<uid_t>(-1)) who.uid = uid;
        ActorScope scope(std::move(who));
        logEvent(EventKind::Denied, EventLevel::Info, line, "");
        return;
    }
    auto it = suppressed_.find(uid);
    if (it != suppressed_.end())
        ++it->second;
    else if (suppressed_.size() < kUids)
        suppressed_.emplace(uid, 1);
    else
        ++suppressedOther_;
    wake_.notify_all();
}

void DenialLog::summarizeLocked() {
    for (auto [uid, n] : suppressed_) {
        if (uid == static_cast<uid_t>(-1))
            log::info(
                "... and {} more denials to callers the bus could not identify in the "
                "last {} s",
                n, kWindow.count());
        else
            log::info("... and {} more denials from uid {} in the last {} s", n, uid,
                      kWindow.count());
    }
    if (suppressedOther_)
        log::info("... and {} more denials from other uids in the last {} s", suppressedOther_,
                  kWindow.count());
    suppressed_.clear();
    suppressedOther_ = 0;
}

// Sums up a window when it ends, not only when the next denial comes: the
// summary of the last burst must not wait for another one.
void DenialLog::run(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested()) {
        wake_.wait(lock, stop, [this] { return !suppressed_.empty() || suppressedOther_; });
        if (stop.stop_requested()) return;
        auto end = windowStart_ + kWindow;
        wake_.wait_until(lock, stop, end, [] { return false; });
        if (stop.stop_requested()) return;
        if (Clock::now() >= end) summarizeLocked();
    }
}

}  // namespace kexecd
