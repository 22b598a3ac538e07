#pragma once
// coreos/airlock's reboot semaphore, as it keeps it in etcd, so that kexecd
// nodes and Zincati nodes behind airlock share one group's slots:
//   {"total_slots":N,"holders":["id",...]}   holders sorted, no duplicates.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kexecd {

struct Semaphore {
    unsigned totalSlots = 1;
    std::vector<std::string> holders;  // sorted, unique
    bool operator==(const Semaphore&) const = default;

    bool holds(std::string_view id) const;
    // Takes a slot for `id`: true when it holds one afterwards (already
    // holding one counts), false when all slots are taken by others.
    bool take(const std::string& id);
    // Gives `id`'s slot back; false when it held none.
    bool release(std::string_view id);
};

// Throws Error(Failed) on anything that is not such an object: a value that
// is not understood is never overwritten by a guess.
Semaphore parseSemaphore(std::string_view json);
std::string serializeSemaphore(const Semaphore& s);

// The group's key, as airlock names it (the group is URL-query-escaped
// there; [a-zA-Z0-9.-]+ needs no escaping).
std::string semaphoreKey(std::string_view group);

// "2/2 held by a, b" for status lines.
std::string describeSemaphore(const Semaphore& s);

}  // namespace kexecd
