#include "budget.hpp"

namespace kexecd {

bool Budget::acquire(uid_t uid) {
    if (uid == 0) return true;
    std::lock_guard lock(mutex_);
    auto it = used_.find(uid);
    unsigned mine = it == used_.end() ? 0 : it->second;
    if (mine >= perUid_ || usedTotal_ >= total_) return false;
    ++used_[uid];
    ++usedTotal_;
    return true;
}

void Budget::release(uid_t uid) {
    if (uid == 0) return;
    std::lock_guard lock(mutex_);
    auto it = used_.find(uid);
    if (it == used_.end()) return;
    if (--it->second == 0) used_.erase(it);
    --usedTotal_;
}

}  // namespace kexecd
