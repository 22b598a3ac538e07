#pragma once
// Who is calling: uid and pid of a bus connection, as the bus daemon took
// them from the kernel when the connection was made (GetConnectionCredentials).
// Also tells when a caller leaves the bus, so that what it left waiting can
// be cancelled. Bus thread only.
#include <sdbus-c++/sdbus-c++.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace kexecd {

struct Caller {
    std::string sender;  // unique bus name
    uid_t uid = static_cast<uid_t>(-1);
    pid_t pid = 0;  // 0 when the bus does not know
    // The process's name and its parent's, escaped, for "who staged": a
    // kernel hook shows as "kexecctl, from zz-kexecd". "" when /proc does
    // not say (the process left, or hidepid).
    std::string comm;
    std::string parentComm;

    // "uid 1000 pid 42 kexecctl, from bash (:1.7)", for the log.
    std::string describe() const;
};

class Callers {
  public:
    using GoneHandler = std::function<void(const std::string& sender)>;
    Callers(sdbus::IConnection& conn, GoneHandler onGone);

    // Throws sdbus::Error (AccessDenied) when the bus cannot say, e.g. because
    // the caller has already left.
    Caller identify(const std::string& sender);

  private:
    void nameLost(const std::string& name);

    GoneHandler onGone_;
    // Unique names are never reused while the bus runs, so an entry stays
    // true until its connection leaves.
    std::unordered_map<std::string, Caller> cache_;
    std::unique_ptr<sdbus::IProxy> bus_;
    sdbus::Slot match_;
};

}  // namespace kexecd
