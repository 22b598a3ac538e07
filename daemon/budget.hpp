#pragma once
// How many calls each caller may have in progress. Counted per uid, not per
// connection: opening more connections must not buy more. uid 0 is never
// refused: an unprivileged user must not be able to lock root out.
#include <sys/types.h>

#include <map>
#include <mutex>

namespace kexecd {

class Budget {
  public:
    // `perUid` calls for each uid but 0, `total` for all of them together.
    Budget(unsigned perUid, unsigned total) : perUid_(perUid), total_(total) {}

    // True if the call may go on; then release() must follow exactly once.
    bool acquire(uid_t uid);
    void release(uid_t uid);

    unsigned perUid() const { return perUid_; }
    unsigned total() const { return total_; }

  private:
    const unsigned perUid_, total_;
    std::mutex mutex_;
    std::map<uid_t, unsigned> used_;  // uids with calls in progress only
    unsigned usedTotal_ = 0;
};

}  // namespace kexecd
