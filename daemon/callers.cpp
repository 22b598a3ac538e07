#include "callers.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>

#include "log.hpp"
#include "text.hpp"

namespace kexecd {

namespace {

constexpr auto kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
// Enough for every connection that calls at the same time; past it the cache
// starts again rather than grow.
constexpr size_t kCacheMax = 4096;
// Unique names that lose their owner: connections that left the bus.
constexpr auto kGoneMatch =
    "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
    "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg2=''";

}  // namespace

// What /proc says of a process: its comm and its parent's pid.
std::string procComm(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    std::getline(f, comm);
    return escapeText(comm);
}

pid_t procParent(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), {});
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    auto close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2) return 0;
    return ppid;
}

std::string Caller::describe() const {
    std::string s = "uid " + std::to_string(uid) + " pid " + std::to_string(pid);
    if (!comm.empty()) s += " " + comm;
    if (!parentComm.empty()) s += ", from " + parentComm;
    return s + " (" + sender + ")";
}

Callers::Callers(sdbus::IConnection& conn, GoneHandler onGone) : onGone_(std::move(onGone)) {
    bus_ = sdbus::createProxy(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    match_ = conn.addMatch(kGoneMatch, [this](sdbus::Message& msg) {
        // sdbus-c++ lets nothing but sdbus::Error out of a handler alive.
        try {
            std::string name, oldOwner, newOwner;
            msg >> name >> oldOwner >> newOwner;
            if (!name.empty() && name[0] == ':' && newOwner.empty()) nameLost(name);
        } catch (const std::exception& e) {
            log::warn("cannot handle NameOwnerChanged: {}", e.what());
        }
    });
}

Caller Callers::identify(const std::string& sender) {
    if (auto it = cache_.find(sender); it != cache_.end()) return it->second;
    std::map<std::string, sdbus::Variant> creds;
    try {
        // Synchronous, on the bus thread: the bus daemon answers this itself,
        // at once, and the answer is cached for the connection's lifetime.
        bus_->callMethod("GetConnectionCredentials")
            .onInterface("org.freedesktop.DBus")
            .withArguments(sender)
            .withTimeout(std::chrono::seconds(10))
            .storeResultsTo(creds);
    } catch (const sdbus::Error& e) {
        throw sdbus::Error(kAccessDenied, "cannot identify the caller: " + e.getMessage());
    }
    Caller c;
    c.sender = sender;
    try {
        auto uid = creds.find("UnixUserID");
        if (uid == creds.end()) throw sdbus::Error(kAccessDenied, "the bus did not say who calls");
        c.uid = uid->second.get<uint32_t>();
        if (auto pid = creds.find("ProcessID"); pid != creds.end())
            c.pid = static_cast<pid_t>(pid->second.get<uint32_t>());
    } catch (const sdbus::Error& e) {
        throw sdbus::Error(kAccessDenied, "cannot identify the caller: " + e.getMessage());
    }
    if (c.pid > 0) {
        c.comm = procComm(c.pid);
        if (pid_t parent = procParent(c.pid); parent > 1) c.parentComm = procComm(parent);
    }
    if (cache_.size() >= kCacheMax) cache_.clear();
    cache_.emplace(sender, c);
    return c;
}

void Callers::nameLost(const std::string& name) {
    cache_.erase(name);
    if (onGone_) onGone_(name);
}

}  // namespace kexecd
