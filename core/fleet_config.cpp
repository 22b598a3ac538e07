#include "fleet_config.hpp"

#include <charconv>

#include "text.hpp"

namespace kexecd {

namespace {

std::vector<std::string> splitList(std::string_view s) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= s.size()) {
        size_t end = s.find_first_of(", \t", pos);
        if (end == std::string_view::npos) end = s.size();
        if (end > pos) out.emplace_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

bool validUrl(std::string_view u) {
    return (u.starts_with("http://") || u.starts_with("https://")) && u.size() > 8 &&
           u.find_first_of(" \t\"'\\") == std::string_view::npos;
}

bool absolutePath(std::string_view p) {
    return p.empty() || p.front() == '/';
}

}  // namespace

bool validGroupName(std::string_view g) {
    if (g.empty() || g.size() > 128) return false;
    for (char c : g)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-'))
            return false;
    return true;
}

// airlock's ids are free-form, but they are shown in status lines and logs.
bool validFleetId(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char ch : id)
        if (ch <= ' ' || ch > '~' || ch == '"' || ch == '\\') return false;
    return true;
}

std::string_view coordinatorName(CoordinatorKind k) {
    switch (k) {
        case CoordinatorKind::Etcd:
            return "etcd";
        case CoordinatorKind::FleetLock:
            return "fleetlock";
        case CoordinatorKind::None:
            break;
    }
    return "none";
}

bool applyFleetKey(FleetConfig& c, std::string_view key, const std::string& val,
                   std::string* error) {
    auto bad = [&](const std::string& why) {
        *error = std::string(key) + "=" + escapeText(val) + " " + why;
        return true;
    };
    if (key == "Coordinator") {
        if (val == "none" || val.empty())
            c.coordinator = CoordinatorKind::None;
        else if (val == "etcd")
            c.coordinator = CoordinatorKind::Etcd;
        else if (val == "fleetlock")
            c.coordinator = CoordinatorKind::FleetLock;
        else
            return bad("is not none, etcd or fleetlock");
        return true;
    }
    if (key == "Endpoints") {
        // Like systemd's list settings: each line adds, an empty value resets.
        if (val.empty()) c.endpoints.clear();
        auto urls = splitList(val);
        for (auto& u : urls)
            if (!validUrl(u)) return bad("is not a list of http:// or https:// URLs");
        for (auto& u : urls) c.endpoints.push_back(u);
        return true;
    }
    if (key == "Group") {
        if (!validGroupName(val)) return bad("is not a group name ([a-zA-Z0-9.-]+)");
        c.group = val;
        return true;
    }
    if (key == "Slots") {
        unsigned n = 0;
        auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), n);
        if (ec != std::errc() || p != val.data() + val.size() || n < 1 || n > 10000)
            return bad("is not a number of slots between 1 and 10000");
        c.slots = n;
        return true;
    }
    if (key == "NodeId") {
        if (!val.empty() && !validFleetId(val))
            return bad("is not a node id (printable ASCII, no spaces, at most 128 bytes)");
        c.nodeId = val;
        return true;
    }
    std::string* path = key == "TrustedCA"           ? &c.trustedCA
                        : key == "ClientCertificate" ? &c.clientCertificate
                        : key == "ClientKey"         ? &c.clientKey
                                                     : nullptr;
    if (path) {
        if (!absolutePath(val)) return bad("is not an absolute path");
        *path = val;
        return true;
    }
    if (key == "ReleaseWhenDegraded") {
        if (val == "yes" || val == "true" || val == "on" || val == "1")
            c.releaseWhenDegraded = true;
        else if (val == "no" || val == "false" || val == "off" || val == "0")
            c.releaseWhenDegraded = false;
        else
            return bad("is not yes or no");
        return true;
    }
    return false;
}

}  // namespace kexecd
