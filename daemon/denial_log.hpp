#pragma once
// Log lines about denied and refused calls, at a bounded rate. One line per
// denial let a caller push 10,000 lines in a few seconds, and with them
// kexecd's real messages past journald's rate limit. Within each window of
// kWindow at most kLines such lines are logged; the rest are counted per uid
// and summed up in one line per uid when the window ends.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace kexecd {

class DenialLog {
  public:
    static constexpr std::chrono::seconds kWindow{10};
    static constexpr unsigned kLines = 10;
    // Summaries name at most this many uids, then "other uids".
    static constexpr unsigned kUids = 8;

    DenialLog();
    ~DenialLog();  // logs what is still counted

    // `line` names what was denied to whom; it must already be safe to log.
    void note(uid_t uid, const std::string& line);

  private:
    using Clock = std::chrono::steady_clock;
    void summarizeLocked();
    void run(std::stop_token stop);

    std::mutex mutex_;
    std::condition_variable_any wake_;
    Clock::time_point windowStart_{};
    unsigned lines_ = 0;
    std::map<uid_t, unsigned> suppressed_;
    unsigned suppressedOther_ = 0;
    std::jthread thread_;  // last: started once the rest exists
};

}  // namespace kexecd
