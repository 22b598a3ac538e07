#pragma once
// The staging policy: what to stage, when, and how to keep what is staged
// true to the kernel and to /boot. No D-Bus in here; the daemon wraps it.
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bootloader.hpp"
#include "check.hpp"
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
    // What the boot loader would do, for comparing with what is staged:
    // its name ("GRUB (/boot/grub/grub.cfg)", "" when none was found), the
    // version of its default kernel ("" when unknown) and the command line
    // it gives the staged kernel ("" when it has no entry for it).
    std::string bootLoader;
    std::string defaultVersion;
    std::string bootLoaderCmdline;
    // Who staged it and when (µs since the epoch; 0 unknown), and the bytes
    // of kernel and initrds the kernel holds for it.
    std::string stagedBy;
    int64_t stagedAtUsec = 0;
    uint64_t stagedBytes = 0;
    bool operator==(const Status&) const = default;
};

// RebootWithFlags(): how to reboot.
struct RebootFlags {
    // Through the firmware: logind is asked first, and only once it has
    // accepted is the staged kernel unloaded, so that a refused reboot
    // leaves it staged.
    bool cold = false;
    // Override inhibitor locks (`systemctl -i`).
    bool ignoreInhibitors = false;
};

// One line for `systemctl status kexecd` (sd_notify STATUS=): "Staged
// 6.12.12+deb12-amd64 (newest)", "Nothing staged; newest is ...".
std::string statusLine(const Status& s);

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
    // version "" = what AutoStage picks (Kernel=: the newest bootable or the
    // boot loader's default); cmdline "" = derived. Returns the version.
    std::string stage(const std::string& version, const std::string& cmdline);
    // The newest bootable kernel, whatever Kernel= says.
    std::string stageNewest();
    void unstage();
    // Looks at /boot and the kernel again and applies the policy (see
    // engine.cpp). Returns the staged version or "".
    std::string rescan();
    // Picks up a kernel loaded or unloaded behind our back.
    void reconcile();
    // The same, for readers (property reads, ListKernels): nothing polls the
    // kernel (an idle daemon makes no wakeups), so what another tool did is
    // picked up when someone looks. Skipped while a change runs, which
    // reconciles itself; never waits.
    void reconcileIfIdle();
    // A new configuration (SIGHUP, `systemctl reload kexecd`): from now on
    // it decides; with AutoStage the policy is applied again at once, so a
    // changed CmdlineAppend= or Kernel= is staged. Returns what rescan()
    // returns.
    std::string reload(Config config);
    // For the kexec.target hook, just before the kexec: when the staged
    // kernel's files were replaced (an initrd rebuilt by a dpkg trigger after
    // the kernel hook ran) stage it again; when it was removed, stage the
    // newest. Never unstages: a reboot must not turn from fast into failed.
    // Returns a line for the log.
    std::string verifyStaged();
    // Throws NotStaged unless a kernel is loaded; then hands over to `power`.
    // When the next boot needs the firmware (StepAside=), it unloads the
    // staged kernel first, so that the reboot goes through the firmware.
    void reboot(Power& power, RebootFlags flags = {});

    // The boot loader as last read (by a scan).
    BootLoaderView bootLoader() const;
    // The pre-flight report (kexecctl check); looks at /boot again first.
    std::vector<CheckItem> check(unsigned systemdVersion);

    std::filesystem::path stateFile() const;
    const Root& root() const { return root_; }

  private:
    std::vector<Kernel> scanLocked();
    std::string rescanLocked();
    // True when what is staged (or the foreign kernel) changed.
    bool reconcileLocked();
    std::string stageLocked(const Kernel& k, const std::string& cmdline, bool custom);
    std::string stageChosenLocked(const std::string& version, const std::string& cmdline,
                                  bool newest);
    // The kernel AutoStage stages: the newest bootable, or with Kernel=default
    // the boot loader's default when it is bootable.
    const Kernel* autoTargetLocked(const std::vector<Kernel>& kernels) const;
    std::string derivedCmdline(const Kernel& target) const;
    std::string runningSuffixLocked(const std::vector<Kernel>& kernels) const;
    // Unloads kexecd's kernel when the next boot needs the firmware; returns
    // why ("" when it does not).
    std::string stepAsideLocked(const char* when);
    void unstageLocked();
    // Whether a file of `s` is not the one staged any more; with `now` (the
    // same kernel as scanned now) also whether it reads other files.
    bool filesChanged(const Staged& s) const;
    // The directory where a missing file of `s` was, when what is there now
    // is another file system (its own unmounted); "" when none is.
    std::string unmountedDir(const Staged& s) const;
    bool filesChanged(const Staged& s, const Kernel& now) const;
    static std::vector<std::string> filesOf(const Kernel& k);
    // Staged::bytes of k, from the sizes of its files as staged.
    static uint64_t loadedBytes(const Kernel& k, const std::vector<StagedFile>& files);
    void publishLocked();
    void loadStateLocked();
    void writeRebootFlag() const;
    void rebootColdLocked(Power& power, bool checkInhibitors);

    Root root_;
    Config config_;
    KexecBackend& backend_;
    Discovery discovery_;
    std::string runningVersion_;

    mutable std::mutex opMutex_;  // one state change at a time
    std::optional<Staged> staged_;
    bool foreign_ = false;
    std::string newest_;
    BootLoaderView bootLoader_;
    std::vector<Kernel> lastScan_;

    mutable std::mutex statusMutex_;  // readers never wait for a staging
    Status status_;
    StatusListener listener_;
};

// Version strings are matched against what discovery found, never used as
// paths; this only rejects input no kernel release can have.
void validateVersionArgument(const std::string& version);

}  // namespace kexecd
