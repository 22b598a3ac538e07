#include "fleet.hpp"

#include <random>

#include "error.hpp"
#include "event_log.hpp"
#include "log.hpp"
#include "text.hpp"

namespace kexecd {

namespace {

int64_t nowUsec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string firstWord(const std::optional<std::string>& text) {
    if (!text) return "";
    auto s = *text;
    return s.substr(0, s.find_first_of(" \t\n"));
}

}  // namespace

std::string fleetRecordToJson(const FleetRecord& r) {
    return nlohmann::json{{"boot_id", r.bootId},
                          {"group", r.group},
                          {"node_id", r.nodeId},
                          {"taken_at_usec", r.takenAtUsec}}
        .dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

FleetRecord fleetRecordFromJson(const std::string& text) {
    try {
        auto j = nlohmann::json::parse(text);
        return FleetRecord{j.at("boot_id").get<std::string>(), j.at("group").get<std::string>(),
                           j.at("node_id").get<std::string>(), j.value("taken_at_usec", 0L)};
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::Failed, std::string("malformed fleet record: ") + e.what());
    }
}

Fleet::Fleet(Root root, FleetConfig config, std::unique_ptr<Coordinator> coordinator,
             Backoff backoff)
    : root_(std::move(root)),
      config_(std::move(config)),
      coordinator_(std::move(coordinator)),
      backoff_(backoff) {
    if (enabled()) state_ = "idle (group " + config_.group + ")";
}

std::string Fleet::nodeId() const {
    if (!config_.nodeId.empty()) return config_.nodeId;
    std::string id = firstWord(readSmallFile(root_.path("/etc/machine-id"), 4096));
    if (id.empty())
        throw Error(ErrorCode::Failed, "no [Fleet] NodeId= and no machine ID in " +
                                           root_.display(root_.path("/etc/machine-id")));
    return id;
}

std::string Fleet::bootId() const {
    return firstWord(readSmallFile(root_.path("/proc/sys/kernel/random/boot_id"), 4096));
}

std::optional<FleetRecord> Fleet::loadRecord() const {
    auto text = readSmallFile(root_.path(kFleetRecordFile));
    if (!text) return std::nullopt;
    return fleetRecordFromJson(*text);
}

void Fleet::setListener(std::function<void()> onChange) {
    std::lock_guard lock(mutex_);
    onChange_ = std::move(onChange);
}

void Fleet::setState(std::string s) {
    std::function<void()> notify;
    {
        std::lock_guard lock(mutex_);
        if (state_ == s) return;
        state_ = std::move(s);
        notify = onChange_;
    }
    if (notify) notify();
}

std::string Fleet::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

bool Fleet::sleepFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, d, [this] { return cancelled_ || stopped_; });
    return !cancelled_ && !stopped_;
}

void Fleet::cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    wake_.notify_all();
}

void Fleet::stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    wake_.notify_all();
}

void Fleet::acquire(bool wait) {
    if (!enabled()) return;
    // opMutex_ is held for each step, never across a wait: a FleetRelease
    // of the dead node this one waits for must get through.
    {
        std::lock_guard lock(mutex_);
        cancelled_ = false;
    }
    const std::string id = nodeId();
    const std::string& group = config_.group;
    std::mt19937 rng(std::random_device{}());
    auto delay = backoff_.initial;
    bool reached = false;
    for (;;) {
        TakeResult r;
        try {
            std::lock_guard op(opMutex_);
            r = coordinator_->take(id);
            reached = true;
            if (r.taken) {
                // Recorded after the take: a crash in between leaves a slot
                // held and no record, which keeps the rollout halted (safe)
                // rather than let two nodes down. No record, no reboot.
                FleetRecord rec{bootId(), group, id, nowUsec()};
                try {
                    writeFileAtomic(root_.path(kFleetRecordFile), fleetRecordToJson(rec), 0644);
                } catch (const Error&) {
                    coordinator_->release(id);
                    throw;
                }
            }
        } catch (const Error& e) {
            if (e.code() != ErrorCode::CoordinatorUnavailable) throw;
            // Unreachable at the first try: fail, the node does not reboot.
            // Once waiting, an outage (etcd restarted) only prolongs the wait.
            if (!reached || !wait) {
                setState("idle (group " + group + "); coordinator unavailable");
                throw Error(ErrorCode::CoordinatorUnavailable,
                            std::string(e.what()) + "; not rebooting");
            }
            r = {false, std::string("coordinator unavailable (") + e.what() + ")"};
        }
        if (r.taken) break;
        std::string waiting = "waiting for a reboot slot in group " + group + ": " + r.why;
        if (!wait) {
            setState("idle (group " + group + ")");
            throw Error(ErrorCode::NoSlot, "no reboot slot free in group " + group + ": " + r.why +
                                               "; try again later, or reboot without --no-wait");
        }
        setState(waiting);
        // Jitter spreads the nodes that all saw the same slot go free.
        std::uniform_real_distribution<double> jitter(0.5, 1.5);
        auto sleep = std::chrono::milliseconds(
            static_cast<int64_t>(static_cast<double>(delay.count()) * jitter(rng)));
        if (!sleepFor(sleep)) {
            setState("idle (group " + group + ")");
            throw Error(ErrorCode::Failed, "cancelled while waiting for a reboot slot");
        }
        delay = std::min(backoff_.cap, delay * 2);
    }
    setState("holding a reboot slot in group " + group);
    log::info("took a reboot slot in group {} as {}", group, id);
}

void Fleet::abandon() noexcept {
    try {
        std::lock_guard op(opMutex_);
        coordinator_->release(nodeId());
        std::error_code ec;
        std::filesystem::remove(root_.path(kFleetRecordFile), ec);
        setState("idle (group " + config_.group + ")");
        log::info("the reboot did not happen: gave the reboot slot back");
    } catch (const std::exception& e) {
        log::error(
            "the reboot did not happen, and the slot could not be given back: {}; "
            "free it with 'kexecctl fleet release'",
            e.what());
    }
}

bool Fleet::releaseAfterBoot(const std::function<std::string()>& systemState,
                             std::chrono::milliseconds limit, std::chrono::milliseconds poll) {
    if (!enabled()) return true;
    std::optional<FleetRecord> rec;
    try {
        rec = loadRecord();
    } catch (const Error& e) {
        log::error("{}; keeping whatever slot this node holds", e.what());
        return false;
    }
    if (!rec) return true;
    const std::string& group = rec->group;
    if (rec->bootId == bootId()) {
        // Not rebooted yet (the daemon was restarted): the slot is still
        // this boot's, for the reboot to come.
        setState("holding a reboot slot in group " + group + " (not rebooted yet)");
        return false;
    }
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::string last;
    for (;;) {
        std::string s = systemState();
        bool up = s == "running" || (s == "degraded" && config_.releaseWhenDegraded);
        if (up) {
            try {
                std::lock_guard op(opMutex_);
                // A reboot asked for meanwhile may have taken the slot for
                // this boot: then it is not this function's to give back.
                auto now = loadRecord();
                if (!now || now->bootId == bootId()) return !now;
                coordinator_->release(rec->nodeId);
                std::error_code ec;
                std::filesystem::remove(root_.path(kFleetRecordFile), ec);
                setState("idle (group " + config_.group + ")");
                logEvent(EventKind::Reboot, EventLevel::Notice,
                         "the system is " + s +
                             " after the reboot: released the reboot slot in "
                             "group " +
                             group,
                         "", "");
                return true;
            } catch (const Error& e) {
                last = e.what();
            }
        } else {
            last = "the system is " + (s.empty() ? std::string("of unknown state") : s);
        }
        setState("holding a reboot slot in group " + group + " until the system is up (" + last +
                 ")");
        if (std::chrono::steady_clock::now() >= deadline) break;
        if (!sleepFor(poll)) return false;
    }
    log::error(
        "the system did not come up within {} min ({}): keeping the reboot slot in "
        "group {}, so the rollout halts here; free it with 'kexecctl fleet release'",
        std::chrono::duration_cast<std::chrono::minutes>(limit).count(), last, group);
    setState("holding a reboot slot in group " + group + ": the system did not come up (" + last +
             ")");
    return false;
}

bool Fleet::release(const std::string& id) {
    if (!enabled())
        throw Error(ErrorCode::InvalidArgument, "no coordinator is configured ([Fleet])");
    std::string who = id.empty() ? nodeId() : id;
    std::lock_guard op(opMutex_);
    bool held = coordinator_->release(who);
    if (who == nodeId()) {
        std::error_code ec;
        std::filesystem::remove(root_.path(kFleetRecordFile), ec);
        setState("idle (group " + config_.group + ")");
    }
    return held;
}

nlohmann::json Fleet::status() {
    nlohmann::json j = {{"coordinator", std::string(coordinatorName(config_.coordinator))},
                        {"group", config_.group},
                        {"state", state()}};
    if (!enabled()) return j;
    std::string id;
    try {
        id = nodeId();
    } catch (const Error&) {
    }
    j["node"] = id;
    std::optional<Semaphore> sem;
    {
        // The coordinator is not thread-safe (it remembers which endpoint
        // answered): one call at a time.
        std::lock_guard op(opMutex_);
        sem = coordinator_->semaphore();
    }
    if (sem) {
        j["total_slots"] = sem->totalSlots;
        j["holders"] = sem->holders;
        j["holding"] = !id.empty() && sem->holds(id);
    } else {
        j["total_slots"] = nullptr;
        j["holders"] = nullptr;
        j["holding"] = nullptr;
    }
    return j;
}

}  // namespace kexecd
