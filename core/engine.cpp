#include "engine.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <chrono>

#include "cmdline.hpp"
#include "error.hpp"
#include "event_log.hpp"
#include "grub_cfg.hpp"
#include "log.hpp"
#include "step_aside.hpp"
#include "text.hpp"

namespace kexecd {

void validateVersionArgument(const std::string& version) {
    if (version.size() > 255)
        throw Error(ErrorCode::InvalidArgument, "version is longer than any kernel release");
    for (unsigned char c : version) {
        if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '+' || c == '~') continue;
        throw Error(ErrorCode::InvalidArgument,
                    "version may contain only letters, digits and . - _ + ~ (got \"" +
                        version.substr(0, 64) + "\"); 'kexecctl list' shows the versions");
    }
}

std::string statusLine(const Status& s) {
    if (!s.stagedVersion.empty()) {
        std::string line = "Staged " + s.stagedVersion;
        if (s.stagedOrigin == "simulated") line += " (simulated)";
        if (s.stagedVersion == s.newestVersion) return line + " (newest)";
        return line + (s.newestVersion.empty() ? "" : "; newest is " + s.newestVersion);
    }
    if (s.stagedOrigin == "foreign") return "A kernel loaded by another tool is staged";
    return "Nothing staged" + (s.newestVersion.empty()
                                   ? std::string("; no bootable kernel in /boot")
                                   : "; newest is " + s.newestVersion);
}

Engine::Engine(Root root, Config config, KexecBackend& backend)
    : root_(std::move(root)), config_(std::move(config)), backend_(backend), discovery_(root_) {
    // Under --root the "running" kernel is the tree's, so that a sample tree
    // can say which kernel it runs.
    auto rel = readSmallFile(root_.path("/proc/sys/kernel/osrelease"));
    if (rel) {
        // Read from a file: shown on D-Bus and in the journal, so escaped.
        runningVersion_ = escapeText(rel->substr(0, rel->find('\n')));
    } else {
        struct utsname u {};
        ::uname(&u);
        runningVersion_ = u.release;
    }
}

std::filesystem::path Engine::stateFile() const {
    // A simulation never shares a file with real staging, so that running
    // --simulate on a live system cannot clobber the real record.
    return root_.path(backend_.simulated() ? "/run/kexecd/simulated.json"
                                           : "/run/kexecd/state.json");
}

void Engine::setListener(StatusListener l) {
    std::lock_guard lock(opMutex_);
    listener_ = std::move(l);
}

Status Engine::status() const {
    std::lock_guard lock(statusMutex_);
    return status_;
}

void Engine::loadStateLocked() {
    try {
        staged_ = loadState(stateFile());
    } catch (const Error& e) {
        log::warn("ignoring unreadable state: {}", e.what());
        staged_.reset();
    }
    if (staged_ && staged_->simulated != backend_.simulated()) staged_.reset();
    if (staged_ && backend_.simulated()) static_cast<SimulatedKexec&>(backend_).restore(true);
    if (staged_)
        log::info("staged before restart: {} ({})", escapeText(staged_->version),
                  escapeText(staged_->kernel));
}

// The system-shutdown hook reads this flag instead of parsing the
// configuration at a point where little else works.
void Engine::writeRebootFlag() const {
    auto flag = root_.path("/run/kexecd/reboot-uses-kexec");
    try {
        if (config_.rebootUsesKexec && !backend_.simulated()) {
            writeFileAtomic(flag, "1\n", 0644);
        } else {
            std::error_code ec;
            std::filesystem::remove(flag, ec);
        }
    } catch (const Error& e) {
        log::warn("{}", e.what());
    }
}

std::optional<std::string> Engine::start() {
    std::lock_guard lock(opMutex_);
    loadStateLocked();
    writeRebootFlag();

    std::optional<std::string> problem;
    try {
        if (config_.autoStage) {
            rescanLocked();
        } else {
            scanLocked();
            reconcileLocked();
        }
    } catch (const std::exception& e) {
        problem = e.what();
    }
    publishLocked();
    return problem;
}

std::vector<Kernel> Engine::scanLocked() {
    auto kernels = discovery_.scan({config_.requireInitrd, config_.requireModules});
    const Kernel* n = newestBootable(kernels);
    newest_ = n ? n->version : "";
    BootLoaderView bl = readBootLoader(root_);
    // Said once per change, not at every look at /boot.
    if (bl.warnings != bootLoader_.warnings)
        for (auto& w : bl.warnings) log::warn("boot loader: {}", w);
    bootLoader_ = std::move(bl);
    lastScan_ = kernels;
    log::debug("looked at /boot: {} kernel(s), newest bootable {}; boot loader: {}, default {}",
               kernels.size(), newest_.empty() ? "(none)" : newest_, bootLoader_.name(),
               bootLoader_.defaultSuffix.empty() ? "(unknown)" : bootLoader_.defaultSuffix);
    for (auto& k : kernels)
        log::debug("  {} {}: {}", k.version, k.image, k.bootable ? "bootable" : k.reason);
    return kernels;
}

std::vector<Kernel> Engine::listKernels() {
    auto kernels = discovery_.scan({config_.requireInitrd, config_.requireModules});
    // Never wait behind a staging to answer a read; the property catches up
    // with the next change.
    std::unique_lock lock(opMutex_, std::try_to_lock);
    if (lock) {
        reconcileLocked();
        const Kernel* n = newestBootable(kernels);
        newest_ = n ? n->version : "";
        publishLocked();
    }
    return kernels;
}

bool Engine::reconcileLocked() {
    bool loaded = backend_.loaded();
    bool wasForeign = foreign_, wasStaged = staged_.has_value();
    if (staged_ && !loaded) {
        log::warn("kernel {} is no longer loaded (unloaded by another tool); forgetting it",
                  staged_->version);
        staged_.reset();
        try {
            removeState(stateFile());
        } catch (const Error& e) {
            log::warn("{}", e.what());
        }
    }
    if (!staged_ && loaded && !foreign_)
        log::warn("a kernel loaded by another tool is staged; kexecd leaves it alone");
    foreign_ = !staged_ && loaded;
    return foreign_ != wasForeign || staged_.has_value() != wasStaged;
}

void Engine::reconcile() {
    std::lock_guard lock(opMutex_);
    reconcileLocked();
    publishLocked();
}

namespace {
// Set while this thread runs the status listener, which emits
// PropertiesChanged; sd-bus calls the property getters to fill the signal in,
// and those must not reconcile again (this thread holds opMutex_ already).
thread_local bool tNotifying = false;
}  // namespace

void Engine::reconcileIfIdle() {
    if (tNotifying) return;
    std::unique_lock lock(opMutex_, std::try_to_lock);
    // Publishing only on a change keeps a property read (GetAll reads them
    // all) at one read of /sys/kernel/kexec_loaded each.
    if (lock && reconcileLocked()) publishLocked();
}

// Every file a load of `k` reads: the image, its initrds, and the add-ons a
// UKI's initrd sections come from.
std::vector<std::string> Engine::filesOf(const Kernel& k) {
    std::vector<std::string> files{k.image};
    files.insert(files.end(), k.initrds.begin(), k.initrds.end());
    for (auto& sec : k.initrdSections)
        if (!sec.file.empty() && std::find(files.begin(), files.end(), sec.file) == files.end())
            files.push_back(sec.file);
    return files;
}

uint64_t Engine::loadedBytes(const Kernel& k, const std::vector<StagedFile>& files) {
    auto sizeOf = [&files](const std::string& path) -> uint64_t {
        for (auto& f : files)
            if (f.path == path) return static_cast<uint64_t>(f.id.size);
        return 0;
    };
    uint64_t n = k.kernelSection ? k.kernelSection->size : sizeOf(k.image);
    for (auto& i : k.initrds) n += sizeOf(i);
    for (auto& sec : k.initrdSections) n += sec.size;
    return n;
}

std::string Engine::unmountedDir(const Staged& s) const {
    for (auto& f : s.files) {
        if (statFileId(root_.path(f.path))) continue;
        // The nearest directory still there: on another file system than the
        // file was, the file system that held it is no longer mounted there.
        for (auto dir = std::filesystem::path(f.path).parent_path();; dir = dir.parent_path()) {
            if (auto there = statFileId(root_.path(dir.string()))) {
                if (there->dev != f.id.dev) return dir.string();
                break;
            }
            if (dir == dir.root_path() || dir.empty()) break;
        }
    }
    return "";
}

bool Engine::filesChanged(const Staged& s) const {
    return std::any_of(s.files.begin(), s.files.end(), [this](const StagedFile& f) {
        return statFileId(root_.path(f.path)) != f.id;
    });
}

bool Engine::filesChanged(const Staged& s, const Kernel& now) const {
    std::vector<std::string> paths;
    for (auto& f : s.files) paths.push_back(f.path);
    // An add-on with microcode or an initrd added or removed since.
    return paths != filesOf(now) || filesChanged(s);
}

std::string Engine::stageLocked(const Kernel& k, const std::string& cmdline, bool custom) {
    validateCmdline(cmdline);
    Staged s{k.version, k.image, k.initrds, cmdline, custom, backend_.simulated(), {}, {}, 0};
    s.stagedBy = currentActor().who;
    s.stagedAtUsec = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    LoadRequest req{root_.path(k.image), {}, cmdline};
    if (k.kernelSection)
        req.kernel = FilePart(root_.path(k.image), k.kernelSection->offset, k.kernelSection->size);
    // Identities are taken before the load: a file replaced in between shows
    // up as changed at the next rescan and is staged again.
    for (auto& p : filesOf(k)) {
        auto id = statFileId(root_.path(p));
        if (!id) throw Error(ErrorCode::NotFound, p + " disappeared while staging; try again");
        s.files.push_back({p, *id});
    }
    s.bytes = loadedBytes(k, s.files);
    for (auto& p : k.initrds) req.initrds.push_back(root_.path(p));
    for (auto& sec : k.initrdSections)
        req.initrds.push_back(
            FilePart(root_.path(sec.file.empty() ? k.image : sec.file), sec.offset, sec.size));

    backend_.load(req);
    if (foreign_) log::warn("replaced a kernel loaded by another tool");
    staged_ = s;
    foreign_ = false;
    logEvent(EventKind::Staged, EventLevel::Info,
             fmt::format("staged {} ({}{}{}) cmdline \"{}\"{} for {}", k.version, k.image,
                         k.initrds.empty() ? "" : ", initrd ",
                         fmt::format("{}", fmt::join(k.initrds, " + ")), cmdline,
                         s.simulated ? " [simulated]" : "", s.stagedBy),
             k.version, cmdline);
    // From here on the kernel holds the load: whatever fails, the record in
    // memory and the properties say so.
    try {
        saveState(stateFile(), s);
    } catch (const std::exception& e) {
        publishLocked();
        throw Error(ErrorCode::Failed, "staged " + k.version +
                                           ", but could not record it (a restarted kexecd will "
                                           "report it as foreign): " +
                                           e.what());
    }
    publishLocked();
    return k.version;
}

std::string Engine::stage(const std::string& version, const std::string& cmdline) {
    return stageChosenLocked(version, cmdline, false);
}

std::string Engine::stageNewest() {
    return stageChosenLocked("", "", true);
}

std::string Engine::stageChosenLocked(const std::string& version, const std::string& cmdline,
                                      bool newestOnly) {
    validateVersionArgument(version);
    if (!cmdline.empty()) validateCmdline(cmdline);

    std::lock_guard lock(opMutex_);
    auto kernels = scanLocked();
    reconcileLocked();

    const Kernel* k = nullptr;
    if (version.empty()) {
        k = newestOnly ? newestBootable(kernels) : autoTargetLocked(kernels);
        if (!k) {
            std::string why = kernels.empty() ? "no kernel images in /boot"
                                              : "none of the kernels in /boot is bootable";
            for (auto& c : kernels) why += "; " + c.version + ": " + c.reason;
            throw Error(ErrorCode::NotFound, why);
        }
    } else {
        for (auto& c : kernels) {
            if (c.version != version) continue;
            if (!k || (c.bootable && !k->bootable)) k = &c;
        }
        if (!k)
            throw Error(ErrorCode::NotFound,
                        "no kernel " + version + " in /boot; 'kexecctl list' shows what there is");
        if (!k->bootable)
            throw Error(ErrorCode::NotBootable,
                        "kernel " + version + " cannot be staged: " + k->reason);
    }
    // Pinned by hand unless it is what AutoStage would pick anyway.
    const Kernel* autoPick =
        config_.bootLoaderDefaultKernel ? autoTargetLocked(kernels) : newestBootable(kernels);
    bool custom = !cmdline.empty() || !autoPick || k->image != autoPick->image;
    return stageLocked(*k, cmdline.empty() ? derivedCmdline(*k) : cmdline, custom);
}

void Engine::unstageLocked() {
    backend_.unload();
    logEvent(EventKind::Unstaged, EventLevel::Info,
             staged_ ? "unstaged " + staged_->version + " for " + currentActor().who
                     : "unloaded the kernel another tool had staged, for " + currentActor().who,
             staged_ ? staged_->version : "");
    staged_.reset();
    foreign_ = false;
    publishLocked();
    try {
        removeState(stateFile());
    } catch (const Error& e) {
        // Unloaded all the same; a stale record is forgotten at the next
        // start, when the kernel says nothing is loaded.
        log::warn("{}", e.what());
    }
}

void Engine::unstage() {
    std::lock_guard lock(opMutex_);
    reconcileLocked();
    if (!staged_ && !foreign_) {
        publishLocked();
        throw Error(ErrorCode::NotStaged, "nothing is staged");
    }
    unstageLocked();
}

// The policy, in order:
//  - a kernel loaded by another tool is left alone;
//  - a staged kernel whose files were replaced (an initrd rebuilt after the
//    kernel hook ran) is staged again, same version and command line;
//  - a staged kernel that was removed or broke is replaced by the newest
//    (AutoStage) or unstaged: its modules are gone, booting it would fail;
//  - with AutoStage, a newer kernel replaces the staged one unless that one
//    was chosen by hand.
std::string Engine::rescanLocked() {
    auto kernels = scanLocked();
    reconcileLocked();
    if (foreign_) {
        publishLocked();
        return "";
    }
    const Kernel* target = autoTargetLocked(kernels);

    if (staged_) {
        const Kernel* cur = nullptr;
        for (auto& c : kernels)
            if (c.image == staged_->kernel && c.version == staged_->version) cur = &c;
        bool usable = cur && cur->bootable;
        if (usable && filesChanged(*staged_, *cur)) {
            log::info("files of staged kernel {} changed; staging it again", cur->version);
            return stageLocked(*cur, staged_->custom ? staged_->cmdline : derivedCmdline(*cur),
                               staged_->custom);
        }
        if (usable) {
            if (!staged_->custom && config_.autoStage && target && target->image != staged_->kernel)
                return stageLocked(*target, derivedCmdline(*target), false);
            // The boot loader's configuration changed (update-grub, grubby):
            // what a cold boot would get changed with it.
            if (!staged_->custom) {
                std::string now = derivedCmdline(*cur);
                if (now != staged_->cmdline) {
                    log::info("the derived command line of {} changed; staging it again",
                              cur->version);
                    return stageLocked(*cur, now, false);
                }
            }
            publishLocked();
            return staged_->version;
        }
        log::warn("staged kernel {} {}", staged_->version,
                  cur ? "cannot be booted any more: " + cur->reason : "was removed");
        if (config_.autoStage && target)
            return stageLocked(*target, derivedCmdline(*target), false);
        unstageLocked();
        return "";
    }
    if (config_.autoStage && target) return stageLocked(*target, derivedCmdline(*target), false);
    publishLocked();
    return "";
}

std::string Engine::rescan() {
    std::lock_guard lock(opMutex_);
    return rescanLocked();
}

std::string Engine::reload(Config config) {
    std::lock_guard lock(opMutex_);
    config_ = std::move(config);
    writeRebootFlag();
    if (config_.autoStage) return rescanLocked();
    publishLocked();
    return staged_ ? staged_->version : "";
}

std::string Engine::verifyStaged() {
    std::lock_guard lock(opMutex_);
    loadStateLocked();
    auto kernels = scanLocked();
    reconcileLocked();
    if (auto why = stepAsideLocked("before the kexec"); !why.empty())
        return "stepped aside (" + why + "): this reboot goes through the firmware";
    if (!staged_)
        return foreign_ ? "a kernel loaded by another tool is staged; not checked"
                        : "nothing staged";
    // On the way down the partition holding the staged files (an ESP at
    // /boot/efi, a separate /boot) may be unmounted before this runs: its
    // files are then out of sight, not gone, and a cold boot would still
    // find them. The kernel was checked when staged and is loaded: keep it.
    if (auto dir = unmountedDir(*staged_); !dir.empty())
        return "staged kernel " + staged_->version + " kept: " + dir +
               " is not mounted any more (unmounted by the shutdown), its files cannot be "
               "checked";
    const Kernel* cur = nullptr;
    const Kernel* unbootable = nullptr;
    for (auto& c : kernels)
        if (c.image == staged_->kernel && c.version == staged_->version)
            (c.bootable ? cur : unbootable) = &c;
    // Still there, but a cold boot would not boot it as staged (a UKI that
    // got credentials systemd-stub passes, say): not this kernel, then.
    if (!cur && unbootable) {
        std::string v = staged_->version, why = unbootable->reason;
        if (const Kernel* target = autoTargetLocked(kernels))
            return "staged kernel " + v + " cannot be booted any more (" + why + "); staged " +
                   stageLocked(*target, derivedCmdline(*target), false) + " instead";
        unstageLocked();
        return "staged kernel " + v + " cannot be booted any more (" + why +
               "); unstaged: this reboot goes through the firmware";
    }
    // A non-custom command line follows the boot loader's configuration up
    // to the last moment (update-grub just before `systemctl kexec`).
    std::string cmdline = staged_->cmdline;
    if (cur && !staged_->custom) {
        try {
            cmdline = derivedCmdline(*cur);
        } catch (const Error& e) {
            log::warn("keeping the staged command line: {}", e.what());
        }
    }
    bool changed = cur ? filesChanged(*staged_, *cur) : filesChanged(*staged_);
    if (!changed && cmdline == staged_->cmdline)
        return "staged kernel " + staged_->version + " matches /boot";
    if (cur)
        return std::string(changed ? "files changed" : "the derived command line changed") +
               "; staged again: " + stageLocked(*cur, cmdline, staged_->custom);
    if (const Kernel* target = autoTargetLocked(kernels)) {
        // Copied first: stageLocked() replaces staged_, and the operands of
        // + may be evaluated in any order.
        std::string gone = staged_->version;
        return "staged kernel " + gone + " is gone; staged " +
               stageLocked(*target, derivedCmdline(*target), false) + " instead";
    }
    return "staged kernel " + staged_->version +
           " is gone and nothing else is bootable; "
           "leaving it staged";
}

void Engine::publishLocked() {
    Status s;
    s.loaded = backend_.loaded();
    if (staged_) {
        s.stagedVersion = staged_->version;
        s.stagedKernel = staged_->kernel;
        s.stagedInitrds = staged_->initrds;
        s.stagedCmdline = staged_->cmdline;
        s.stagedOrigin = staged_->simulated ? "simulated" : "kexecd";
        s.stagedBy = staged_->stagedBy;
        s.stagedAtUsec = staged_->stagedAtUsec;
        s.stagedBytes = staged_->bytes;
        if (!s.stagedBytes)
            for (auto& f : staged_->files) s.stagedBytes += static_cast<uint64_t>(f.id.size);
    } else if (foreign_) {
        s.stagedOrigin = "foreign";
    }
    s.newestVersion = newest_;
    s.runningVersion = runningVersion_;
    s.autoStage = config_.autoStage;
    s.bootLoader = bootLoader_.kind.empty() ? "" : bootLoader_.name();
    s.defaultVersion = bootLoader_.defaultSuffix;
    for (auto& k : lastScan_)
        if (!s.defaultVersion.empty() && grubKernelSuffix(k.image) == bootLoader_.defaultSuffix)
            s.defaultVersion = k.version;
    if (staged_)
        s.bootLoaderCmdline =
            bootLoader_.cmdlineFor(grubKernelSuffix(staged_->kernel)).value_or("");
    {
        std::lock_guard lock(statusMutex_);
        if (s == status_) return;
        status_ = s;
    }
    if (!listener_) return;
    struct Notifying {
        Notifying() { tNotifying = true; }
        ~Notifying() { tNotifying = false; }
    } notifying;
    listener_(s);
}

}  // namespace kexecd
