#pragma once
// This node's part in a rolling reboot: take a slot before the reboot (wait
// for one, with capped, jittered backoff), remember in persistent state which
// boot took it, and give it back once the next boot is up. The slot outlives
// the reboot on purpose: a node that does not come back keeps it, and the
// rollout halts there. No D-Bus in here: the daemon feeds it systemd's
// SystemState.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "coordinator.hpp"
#include "fleet_config.hpp"
#include "fsutil.hpp"

namespace kexecd {

// Which boot took the slot: kept where reboots do not erase it (never /run).
constexpr const char* kFleetRecordFile = "/var/lib/kexecd/fleet.json";

struct FleetRecord {
    std::string bootId;
    std::string group;
    std::string nodeId;
    int64_t takenAtUsec = 0;
    bool operator==(const FleetRecord&) const = default;
};
std::string fleetRecordToJson(const FleetRecord& r);
FleetRecord fleetRecordFromJson(const std::string& text);  // throws Error(Failed)

struct Backoff {
    std::chrono::milliseconds initial{500};
    std::chrono::milliseconds cap{15000};
};

// How long after boot the system may take to be up before the slot is kept
// for good (until `kexecctl fleet release`).
constexpr std::chrono::minutes kReleaseLimit{30};

class Fleet {
  public:
    // `coordinator` null: Coordinator=none; every call but state() is then
    // an error or a no-op.
    Fleet(Root root, FleetConfig config, std::unique_ptr<Coordinator> coordinator,
          Backoff backoff = {});
    bool enabled() const { return coordinator_ != nullptr; }
    const FleetConfig& config() const { return config_; }
    // NodeId=, else the machine ID under the root; throws Error(Failed)
    // when there is neither.
    std::string nodeId() const;

    // Takes this node's slot and records it. `wait` false: Error(NoSlot) at
    // once when none is free. Error(CoordinatorUnavailable) when the
    // coordinator cannot be asked; Error(Failed) when cancel() was called.
    void acquire(bool wait);
    // Wakes a waiting acquire(), which then fails.
    void cancel();
    // The reboot was refused after the slot was taken: give it back.
    void abandon() noexcept;

    // The boot after a reboot that took a slot: releases it once
    // `systemState()` says running (or degraded, with ReleaseWhenDegraded=),
    // polling until kReleaseLimit has passed or stop() is called. Returns
    // whether the slot is released (true also when nothing was held).
    bool releaseAfterBoot(const std::function<std::string()>& systemState,
                          std::chrono::milliseconds limit = kReleaseLimit,
                          std::chrono::milliseconds poll = std::chrono::milliseconds(1000));
    void stop();

    // Frees `id`'s slot ("" = this node's): for a node that will not come
    // back. Returns whether it held one.
    bool release(const std::string& id);

    // For the FleetState property and the status line: "" without a
    // coordinator, else one sentence.
    std::string state() const;
    // For FleetStatus(): asks the coordinator.
    nlohmann::json status();
    void setListener(std::function<void()> onChange);

  private:
    void setState(std::string s);
    std::string bootId() const;
    std::optional<FleetRecord> loadRecord() const;
    bool sleepFor(std::chrono::milliseconds d);  // false when woken by cancel/stop

    Root root_;
    FleetConfig config_;
    std::unique_ptr<Coordinator> coordinator_;
    Backoff backoff_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool cancelled_ = false, stopped_ = false;
    std::string state_;
    std::function<void()> onChange_;
    std::mutex opMutex_;  // one coordinator call (and record change) at a time
};

}  // namespace kexecd
