#pragma once
// [Fleet]: rolling reboots across machines, one slot per rebooting node,
// coordinated through etcd (airlock's semaphore) or a FleetLock server.
// See kexecd.conf(5).
#include <string>
#include <string_view>
#include <vector>

namespace kexecd {

enum class CoordinatorKind { None, Etcd, FleetLock };

struct FleetConfig {
    CoordinatorKind coordinator = CoordinatorKind::None;
    std::vector<std::string> endpoints;  // URLs, tried in order
    std::string group = "default";
    // Only used when this node creates the group's semaphore: a semaphore
    // that exists keeps its own total (airlock's rule).
    unsigned slots = 1;
    std::string nodeId;                                   // "" = the machine ID, read under --root
    std::string trustedCA, clientCertificate, clientKey;  // paths as the system sees them
    bool releaseWhenDegraded = false;
    bool enabled() const { return coordinator != CoordinatorKind::None; }
    bool operator==(const FleetConfig&) const = default;
};

// Applies one key of [Fleet]. Returns false for an unknown key; sets
// `error` (and leaves `c` alone) for a bad value.
bool applyFleetKey(FleetConfig& c, std::string_view key, const std::string& value,
                   std::string* error);

// Group names as airlock accepts them, and as they go in an etcd key.
bool validGroupName(std::string_view g);

std::string_view coordinatorName(CoordinatorKind k);

// Node ids: printable ASCII without spaces or quotes, at most 128 bytes.
bool validFleetId(std::string_view id);

}  // namespace kexecd
