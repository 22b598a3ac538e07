#include "airlock_semaphore.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "error.hpp"

namespace kexecd {

bool Semaphore::holds(std::string_view id) const {
    return std::binary_search(holders.begin(), holders.end(), id);
}

bool Semaphore::take(const std::string& id) {
    if (holds(id)) return true;
    if (holders.size() >= totalSlots) return false;
    holders.insert(std::lower_bound(holders.begin(), holders.end(), id), id);
    return true;
}

bool Semaphore::release(std::string_view id) {
    auto it = std::lower_bound(holders.begin(), holders.end(), id);
    if (it == holders.end() || *it != id) return false;
    holders.erase(it);
    return true;
}

Semaphore parseSemaphore(std::string_view text) {
    auto fail = [](const std::string& why) -> Semaphore {
        throw Error(ErrorCode::Failed, "the reboot semaphore is not airlock's format: " + why);
    };
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
    auto ts = j.find("total_slots");
    if (ts == j.end() || !ts->is_number_unsigned()) return fail("no total_slots number");
    Semaphore s;
    auto n = ts->get<uint64_t>();
    if (n > 100000) return fail("total_slots is " + std::to_string(n));
    s.totalSlots = static_cast<unsigned>(n);
    auto h = j.find("holders");
    // airlock writes null for an empty list (a Go nil slice).
    if (h != j.end() && !h->is_null()) {
        if (!h->is_array()) return fail("holders is not a list");
        if (h->size() > 100000) return fail("too many holders");
        for (auto& e : *h) {
            if (!e.is_string()) return fail("a holder is not a string");
            s.holders.push_back(e.get<std::string>());
        }
    }
    std::sort(s.holders.begin(), s.holders.end());
    s.holders.erase(std::unique(s.holders.begin(), s.holders.end()), s.holders.end());
    return s;
}

std::string serializeSemaphore(const Semaphore& s) {
    nlohmann::json j = {{"total_slots", s.totalSlots}, {"holders", s.holders}};
    // Never throws on bad UTF-8 in an id read from elsewhere.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string semaphoreKey(std::string_view group) {
    return "com.coreos.airlock/groups/" + std::string(group) + "/v1/semaphore";
}

std::string describeSemaphore(const Semaphore& s) {
    std::string out = std::to_string(s.holders.size()) + "/" + std::to_string(s.totalSlots);
    if (s.holders.empty()) return out + " held";
    out += " held by ";
    for (size_t i = 0; i < s.holders.size(); ++i) out += (i ? ", " : "") + s.holders[i];
    return out;
}

}  // namespace kexecd
