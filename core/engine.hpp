#pragma once
// The staging policy: what to stage, when, and how to keep what is staged
// true to the kernel and to /boot. No D-Bus in here; the daemon wraps it.
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "discovery.hpp"
#include "kexec.hpp"
#include "power.hpp"
#include "state.hpp"

namespace kexecd {

// What the D-Bus properties show.
struct Status {
    bool loaded = false;
    std::string stagedVersion;
    std::string stagedKernel;
    std::vector<std::string> stagedInitrds;
    std::string stagedCmdline;
    std::string stagedOrigin;  // "", "kexecd", "simulated", "foreign"
    std::string newestVersion;
    std::string runningVersion;
    bool autoStage = false;
    bool operator==(const Status&) const = default;
};

// Called with the new status after every change, in order.
using StatusListener = std::function<void(const Status&)>;

class Engine {
  public:
    Engine(Root root, Config config, KexecBackend& backend);

    // Reconciles the state file with what the kernel has loaded, then, with
    // AutoStage, stages the newest kernel. Errors of the auto-stage are
    // returned (to be logged), not thrown: a daemon without a bootable
    // kernel still serves the API.
    std::optional<std::string> start();

    void setListener(StatusListener l);
    Status status() const;

    std::vector<Kernel> listKernels();
    // version "" = newest bootable; cmdline "" = derived. Returns the version.
    std::string stage(const std::string& version, const std::string& cmdline);
    void unstage();
    // Looks at /boot and the kernel again and applies the policy (see
    // engine.cpp). Returns the staged version or "".
    std::string rescan();
    // Picks up a kernel loaded or unloaded behind our back.
    void reconcile();
    // For the kexec.target hook, just before the kexec: when the staged
    // kernel's files were replaced (an initrd rebuilt by a dpkg trigger after
    // the kernel hook ran) stage it again; when it was removed, stage the
    // newest. Never unstages: a reboot must not turn from fast into failed.
    // Returns a line for the log.
    std::string verifyStaged();
    // Throws NotStaged unless a kernel is loaded; then hands over to `power`.
    void reboot(Power& power);

    const Config& config() const { return config_; }
    std::filesystem::path stateFile() const;

  private:
    std::vector<Kernel> scanLocked();
    std::string rescanLocked();
    void reconcileLocked();
    std::string stageLocked(const Kernel& k, const std::string& cmdline, bool custom);
    void unstageLocked();
    std::string derivedCmdline() const;
    bool filesChanged(const Staged& s) const;
    void publishLocked();
    void loadStateLocked();
    void writeRebootFlag() const;

    Root root_;
    Config config_;
    KexecBackend& backend_;
    Discovery discovery_;
    std::string runningVersion_;

    mutable std::mutex opMutex_;  // one state change at a time
    std::optional<Staged> staged_;
    bool foreign_ = false;
    std::string newest_;

    mutable std::mutex statusMutex_;  // readers never wait for a staging
    Status status_;
    StatusListener listener_;
};

// Version strings are matched against what discovery found, never used as
// paths; this only rejects input no kernel release can have.
void validateVersionArgument(const std::string& version);

}  // namespace kexecd
