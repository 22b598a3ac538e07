#pragma once
// kexecctl's connection to kexecd, and how its errors become exit codes.
#include <sdbus-c++/sdbus-c++.h>

#include <memory>
#include <optional>
#include <string>

#include "manager.hpp"
#include "output.hpp"

namespace kexecctl {

// Exit codes, documented in kexecctl(1).
enum Exit : int {
    kOk = 0,
    kFailed = 1,       // the operation failed (kexec refused, logind refused, …)
    kUsage = 2,        // bad command line or invalid argument
    kNotFound = 3,     // no such kernel, nothing staged
    kDenied = 4,       // polkit said no
    kUnreachable = 5,  // kexecd is not running / not reachable
    kNoSlot = 6,       // [Fleet] every reboot slot is held (reboot --no-wait)
    // [Fleet] etcd, or the FleetLock server, cannot be reached
    kCoordinatorUnavailable = 7,
};

struct Options {
    JsonMode json = JsonMode::Off;
    bool legend = true;  // --no-legend clears it
    bool pager = true;   // --no-pager clears it
    bool ignoreInhibitors = false;
    bool interactive = true;  // --no-ask-password clears it
    bool quiet = false;
    bool cold = false;
    bool noWait = false;        // reboot --no-wait
    bool ifNeeded = false;      // reboot --if-needed
    bool fallbackCold = false;  // reboot --fallback-cold
    std::optional<std::string> cmdline;
};

class Client {
  public:
    explicit Client(const Options& opts);
    ~Client();
    Manager& manager() { return *manager_; }
    sdbus::IConnection& connection() { return *conn_; }
    const Options& opts() const { return opts_; }

  private:
    Options opts_;
    std::unique_ptr<sdbus::IConnection> conn_;
    std::unique_ptr<Manager> manager_;
    pid_t agent_ = -1;
};

// Prints the error with a hint on what to do, returns the exit code.
int reportError(const sdbus::Error& e);

}  // namespace kexecctl
