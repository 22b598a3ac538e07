#include "manager.hpp"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <utility>

#include "bus_reply.hpp"
#include "cmdline.hpp"
#include "error.hpp"
#include "event_log.hpp"
#include "log.hpp"
#include "reboot_needed.hpp"
#include "systemd_manager.hpp"
#include "text.hpp"

namespace kexecd {

// A call on its way: owns the reply, which must be sent or destroyed before
// the caller's budget is given back.
template <typename... R>
struct ManagerObject::Call {
    sdbus::Result<R...> result;
    Caller caller;
    std::string what;
};

ManagerObject::ManagerObject(sdbus::IConnection& conn, Engine& engine, Power& power,
                             BootRecord boot, Fleet* fleet)
    : AdaptorInterfaces(conn, kPath),
      engine_(engine),
      power_(power),
      boot_(std::move(boot)),
      fleet_(fleet ? *fleet : noFleet_),
      callers_(conn, [this](const std::string& sender) { callerGone(sender); }),
      authority_(conn) {
    emitted_ = engine_.status();
    engine_.setListener([this](const Status& s) { emitChanges(s); });
    fleet_.setListener([this] {
        ::sd_notify(0, ("STATUS=" + fleet_.state()).c_str());
        try {
            getObject().emitPropertiesChangedSignal(INTERFACE_NAME, {"FleetState"});
        } catch (const sdbus::Error& e) {
            log::warn("cannot emit PropertiesChanged: {}", e.getMessage());
        }
    });
    registerAdaptor();
}

ManagerObject::~ManagerObject() {
    shutdown(std::chrono::milliseconds(0));
    engine_.setListener(nullptr);
    fleet_.setListener(nullptr);
    unregisterAdaptor();
}

bool ManagerObject::shutdown(std::chrono::milliseconds limit) {
    if (std::exchange(shutDown_, true)) return stopped_;
    fleet_.cancel();  // a reboot waiting for a slot gives up
    if (size_t n = authority_.pending())
        log::warn("{} call(s) still waiting on polkit at exit; their callers get no reply", n);
    bool changesDone = changePool_.stop(limit);
    bool readsDone = readPool_.stop(changesDone ? limit : std::chrono::milliseconds(0));
    return stopped_ = changesDone && readsDone;
}

void ManagerObject::emitChanges(const Status& s) {
    std::vector<std::string> names;
    {
        std::lock_guard lock(mutex_);
        const Status& o = emitted_;
        if (s.loaded != o.loaded) names.push_back("Loaded");
        if (s.stagedVersion != o.stagedVersion) names.push_back("StagedVersion");
        if (s.stagedKernel != o.stagedKernel) names.push_back("StagedKernel");
        if (s.stagedInitrds != o.stagedInitrds) names.push_back("StagedInitrds");
        if (s.stagedCmdline != o.stagedCmdline) names.push_back("StagedCmdline");
        if (s.stagedOrigin != o.stagedOrigin) names.push_back("StagedOrigin");
        if (s.newestVersion != o.newestVersion) names.push_back("NewestVersion");
        if (s.runningVersion != o.runningVersion) names.push_back("RunningVersion");
        if (s.autoStage != o.autoStage) names.push_back("AutoStage");
        if (s.bootLoader != o.bootLoader) names.push_back("BootLoader");
        if (s.defaultVersion != o.defaultVersion) names.push_back("DefaultVersion");
        if (s.bootLoaderCmdline != o.bootLoaderCmdline) names.push_back("BootLoaderCmdline");
        if (s.stagedBy != o.stagedBy) names.push_back("StagedBy");
        if (s.stagedAtUsec != o.stagedAtUsec) names.push_back("StagedTimestamp");
        if (s.stagedBytes != o.stagedBytes) names.push_back("StagedBytes");
        emitted_ = s;
    }
    if (names.empty()) return;
    // What `systemctl status kexecd` shows; ignored outside a service.
    ::sd_notify(0, ("STATUS=" + statusLine(s)).c_str());
    try {
        getObject().emitPropertiesChangedSignal(INTERFACE_NAME, names);
    } catch (const sdbus::Error& e) {
        log::warn("cannot emit PropertiesChanged: {}", e.getMessage());
    }
}

// Property reads pick up what other tools did to the kernel meanwhile
// (nothing polls for it: an idle kexecd makes no wakeups).
Status ManagerObject::current() {
    engine_.reconcileIfIdle();
    return engine_.status();
}

std::string ManagerObject::StagedVersion() {
    return forBus(current().stagedVersion);
}
std::string ManagerObject::StagedKernel() {
    return forBus(current().stagedKernel);
}
std::vector<std::string> ManagerObject::StagedInitrds() {
    return forBus(current().stagedInitrds);
}
std::string ManagerObject::StagedCmdline() {
    return forBus(current().stagedCmdline);
}
std::string ManagerObject::StagedOrigin() {
    return forBus(current().stagedOrigin);
}
std::string ManagerObject::NewestVersion() {
    return forBus(current().newestVersion);
}
std::string ManagerObject::RunningVersion() {
    return forBus(current().runningVersion);
}
std::string ManagerObject::BootLoader() {
    return forBus(current().bootLoader);
}
std::string ManagerObject::DefaultVersion() {
    return forBus(current().defaultVersion);
}
std::string ManagerObject::BootLoaderCmdline() {
    return forBus(current().bootLoaderCmdline);
}
std::string ManagerObject::StagedBy() {
    return forBus(current().stagedBy);
}
uint64_t ManagerObject::StagedTimestamp() {
    return static_cast<uint64_t>(std::max<int64_t>(0, current().stagedAtUsec));
}
std::string ManagerObject::BootKind() {
    if (boot_.bootId.empty()) return "";
    return boot_.kexecBoot ? "kexec" : "firmware";
}

// Bus thread. The sender is only known inside the handler.
std::optional<Caller> ManagerObject::identify(const std::string& what,
                                              std::optional<sdbus::Error>* error) {
    std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
    try {
        return callers_.identify(sender);
    } catch (const sdbus::Error& e) {
        denials_.note(static_cast<uid_t>(-1),
                      "refused " + what + " to " + sender + ": " + escapeText(e.getMessage()));
        error->emplace(e);
        return std::nullopt;
    }
}

void ManagerObject::callerGone(const std::string& sender) {
    {
        std::lock_guard lock(mutex_);
        if (!fleetWaiter_.empty() && fleetWaiter_ == sender) {
            log::info("{} left the bus; its reboot stops waiting for a slot", sender);
            fleet_.cancel();
        }
    }
    if (size_t n = authority_.callerGone(sender))
        log::info("{} left the bus; cancelled its {} polkit check(s)", sender, n);
}

// Bus thread. False, and the caller told Busy, when `budget` has no room.
template <typename... R>
bool ManagerObject::admit(Budget& budget, const Caller& caller, const std::string& what,
                          sdbus::Result<R...>& result) {
    if (budget.acquire(caller.uid)) return true;
    denials_.note(caller.uid,
                  "refused " + what + " to " + caller.describe() + ": too many calls in progress");
    replyError(result, sdbus::Error(kBusy, "too many requests in progress (at most " +
                                               std::to_string(budget.perUid()) + " per user, " +
                                               std::to_string(budget.total()) +
                                               " for all users but root); try again when they "
                                               "are done"));
    return false;
}

template <typename Op, typename... R>
void ManagerObject::dispatch(sdbus::Result<R...>&& result, Request req, Op op) {
    std::optional<sdbus::Error> error;
    auto caller = identify(req.what, &error);
    if (!caller) return replyError(result, *error);
    if (!admit(changes_, *caller, req.what, result)) return;
    auto call = std::make_unique<Call<R...>>(Call<R...>{std::move(result), *caller, req.what});
    auto work = [this](auto call, auto op) {
        return [this, call = std::move(call), op = std::move(op)]() mutable {
            run(std::move(call), op);
        };
    };
    // Root is let in without asking polkit.
    if (caller->uid == 0) return changePool_.post(work(std::move(call), std::move(op)));

    authority_.check(*caller, req.auth, req.interactive, req.details,
                     [this, work, call = std::move(call), op = std::move(op)](
                         Authority::Outcome outcome, const sdbus::Error* error) mutable {
                         if (outcome == Authority::Outcome::Allowed)
                             return changePool_.post(work(std::move(call), std::move(op)));
                         uid_t uid = call->caller.uid;
                         if (outcome == Authority::Outcome::Denied) {
                             denials_.note(uid, "denied " + call->what + " to " +
                                                    call->caller.describe() + ": " +
                                                    escapeText(error->getMessage()));
                             replyError(call->result, *error);
                         }
                         call.reset();  // a cancelled call's caller has left: no reply
                         changes_.release(uid);
                     });
}

template <typename Op, typename... R>
void ManagerObject::run(std::unique_ptr<Call<R...>> call, Op& op) {
    uid_t uid = call->caller.uid;
    {
        auto c = std::move(call);
        // "Who staged" and the journal's caller fields come from here.
        ActorScope actor(Actor{c->caller.describe(), c->caller.uid, c->caller.pid});
        try {
            if constexpr (sizeof...(R) == 0) {
                translated([&] { op(); });
                log::info("{} by {}: done", c->what, c->caller.describe());
                reply(c->result);
            } else {
                auto out = forBus(translated([&] { return op(); }));
                log::info("{} by {}: done{}{}", c->what, c->caller.describe(),
                          out.empty() ? "" : ", ", out);
                reply(c->result, out);
            }
        } catch (const sdbus::Error& e) {
            log::warn("{} by {} failed: {}", c->what, c->caller.describe(),
                      escapeText(e.getMessage()));
            replyError(c->result, e);
        }
    }  // the reply goes before the budget is given back
    changes_.release(uid);
}

// Reading /boot may be slow (large images, many kernels, a slow disk): reads
// run on the read pool, never on the bus thread, under the read budget.
template <typename T, typename Read>
void ManagerObject::read(sdbus::Result<T>&& result, const char* what, Read readFn) {
    std::optional<sdbus::Error> error;
    auto caller = identify(what, &error);
    if (!caller) return replyError(result, *error);
    if (!admit(reads_, *caller, what, result)) return;
    readPool_.post([this, uid = caller->uid, result = std::move(result), readFn]() mutable {
        {
            auto r = std::move(result);
            try {
                r.returnResults(translated(readFn));
            } catch (const sdbus::Error& e) {
                replyError(r, e);
            }
        }  // the reply goes before the budget is given back
        reads_.release(uid);
    });
}

void ManagerObject::ListKernels(sdbus::Result<KernelList>&& result) {
    read(std::move(result), "ListKernels", [this] {
        KernelList out;
        for (auto& k : engine_.listKernels())
            out.emplace_back(forBus(k.version), forBus(k.image), forBus(k.initrds), k.bootable,
                             forBus(k.reason));
        return out;
    });
}

void ManagerObject::ListBootEntries(sdbus::Result<EntryList>&& result) {
    read(std::move(result), "ListBootEntries", [this] {
        EntryList out;
        for (auto& k : engine_.listKernels())
            out.emplace_back(forBus(k.source), forBus(k.version), forBus(k.entry), forBus(k.image),
                             forBus(k.initrds), k.bootable, forBus(k.reason));
        return out;
    });
}

void ManagerObject::Check(sdbus::Result<CheckList>&& result) {
    read(std::move(result), "Check", [this] {
        CheckList out;
        for (auto& i : engine_.check(systemdVersion()))
            out.emplace_back(forBus(i.name), forBus(i.verdict), forBus(i.text));
        return out;
    });
}

void ManagerObject::StageNewest(sdbus::Result<std::string>&& result, bool interactive) {
    Request req{"StageNewest", authorizationFor("StageNewest"), interactive, {}};
    if (auto v = engine_.status().newestVersion; !v.empty()) req.details["version"] = forBus(v);
    dispatch(std::move(result), std::move(req), [this] { return engine_.stageNewest(); });
}

void ManagerObject::Stage(sdbus::Result<std::string>&& result, std::string version,
                          std::string cmdline, bool interactive) {
    // The arguments' form first, before anyone is asked about them: it
    // touches no state, and what polkit shows and the log records is then
    // known to be short, printable UTF-8.
    try {
        translated([&] {
            validateVersionArgument(version);
            if (!cmdline.empty()) validateCmdline(cmdline);
        });
    } catch (const sdbus::Error& e) {
        return replyError(result, e);
    }
    bool custom = !cmdline.empty();
    Request req{"Stage " + (version.empty() ? std::string("(newest)") : version) +
                    (custom ? " with a custom command line" : ""),
                authorizationFor("Stage", custom),
                interactive,
                {}};
    std::string shown = version.empty() ? engine_.status().newestVersion : version;
    if (!shown.empty()) req.details["version"] = forBus(shown);
    if (custom) {
        req.details["cmdline"] = cmdline;
        // polkit takes polkit.* details from uid 0 callers only.
        if (::geteuid() == 0)
            req.details["polkit.message"] =
                "Authentication is required to stage kernel " +
                (shown.empty() ? std::string("(newest)") : forBus(shown)) +
                " to boot with the command line: " + cmdline;
    }
    dispatch(std::move(result), std::move(req),
             [this, version = std::move(version), cmdline = std::move(cmdline)] {
                 return engine_.stage(version, cmdline);
             });
}

void ManagerObject::Unstage(sdbus::Result<>&& result, bool interactive) {
    Request req{"Unstage", authorizationFor("Unstage"), interactive, {}};
    if (auto v = engine_.status().stagedVersion; !v.empty()) req.details["version"] = forBus(v);
    dispatch(std::move(result), std::move(req), [this] { engine_.unstage(); });
}

void ManagerObject::Reboot(sdbus::Result<>&& result, bool interactive) {
    Request req{"Reboot", authorizationFor("Reboot"), interactive, {}};
    if (auto v = engine_.status().stagedVersion; !v.empty()) req.details["version"] = forBus(v);
    std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
    dispatch(std::move(result), std::move(req),
             [this, sender] { rebootWithSlot({}, true, sender); });
}

void ManagerObject::RebootWithFlags(sdbus::Result<>&& result, bool interactive, uint64_t flags) {
    constexpr uint64_t kCold = 1 << 0, kIgnoreInhibitors = 1 << 1;
    if (flags & ~(kCold | kIgnoreInhibitors))
        return replyError(result,
                          sdbus::Error("org.kexecd1.Error.InvalidArgument",
                                       "unknown RebootWithFlags flags " +
                                           std::to_string(flags & ~(kCold | kIgnoreInhibitors)) +
                                           "; known: 1 (cold), 2 (override inhibitors)"));
    RebootFlags f{.cold = (flags & kCold) != 0,
                  .ignoreInhibitors = (flags & kIgnoreInhibitors) != 0};
    std::string what = std::string(f.cold ? "cold Reboot" : "Reboot") +
                       (f.ignoreInhibitors ? " overriding inhibitors" : "");
    Request req{what, authorizationFor("RebootWithFlags", f.ignoreInhibitors), interactive, {}};
    if (auto v = engine_.status().stagedVersion; !v.empty() && !f.cold)
        req.details["version"] = forBus(v);
    std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
    dispatch(std::move(result), std::move(req),
             [this, f, sender] { rebootWithSlot(f, true, sender); });
}

void ManagerObject::Rescan(sdbus::Result<std::string>&& result, bool interactive) {
    Request req{"Rescan", authorizationFor("Rescan"), interactive, {}};
    dispatch(std::move(result), std::move(req), [this] {
        // The policy chooses, not the caller (the kernel hooks call this).
        Actor by = currentActor();
        by.who = "AutoStage, on Rescan() by " + by.who;
        ActorScope actor(std::move(by));
        return engine_.rescan();
    });
}

// With a coordinator, a kexec reboot first takes a slot (waiting on this
// worker, never on the bus thread) and gives it back if the reboot does not
// start. The slot then outlives the reboot: the next boot releases it once
// it is up (main.cpp).
void ManagerObject::rebootWithSlot(RebootFlags f, bool wait, const std::string& sender) {
    if (!fleet_.enabled() || f.cold) return engine_.reboot(power_, f);
    // Nothing to reboot into: say so before anyone waits for a slot.
    if (!engine_.status().loaded)
        throw Error(ErrorCode::NotStaged,
                    "nothing is staged; run 'kexecctl stage' first, or reboot normally");
    {
        std::lock_guard lock(mutex_);
        fleetWaiter_ = sender;
    }
    struct Clear {
        ManagerObject* m;
        ~Clear() {
            std::lock_guard lock(m->mutex_);
            m->fleetWaiter_.clear();
        }
    } clear{this};
    fleet_.acquire(wait);
    auto granted = std::chrono::steady_clock::now();
    try {
        engine_.reboot(power_, f);
    } catch (...) {
        fleet_.abandon();
        throw;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - granted)
                  .count();
    log::info("reboot slot granted, reboot issued {} µs later", us);
}

void ManagerObject::RebootWithOptions(sdbus::Result<>&& result, bool interactive,
                                      std::map<std::string, sdbus::Variant> options) {
    RebootFlags f;
    bool wait = true;
    try {
        translated([&] {
            for (auto& [name, value] : options) {
                bool* out = name == "wait"                ? &wait
                            : name == "cold"              ? &f.cold
                            : name == "ignore-inhibitors" ? &f.ignoreInhibitors
                                                          : nullptr;
                if (!out)
                    throw Error(ErrorCode::InvalidArgument,
                                "unknown RebootWithOptions option '" + forBus(name) +
                                    "'; known: wait, cold, ignore-inhibitors");
                if (value.peekValueType() != "b")
                    throw Error(ErrorCode::InvalidArgument,
                                "RebootWithOptions option '" + name + "' takes a boolean (b)");
                *out = value.get<bool>();
            }
        });
    } catch (const sdbus::Error& e) {
        return replyError(result, e);
    }
    std::string what = std::string(f.cold ? "cold Reboot" : "Reboot") +
                       (f.ignoreInhibitors ? " overriding inhibitors" : "") +
                       (wait ? "" : " without waiting for a slot");
    Request req{what, authorizationFor("RebootWithOptions", f.ignoreInhibitors), interactive, {}};
    if (auto v = engine_.status().stagedVersion; !v.empty() && !f.cold)
        req.details["version"] = forBus(v);
    std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
    dispatch(std::move(result), std::move(req),
             [this, f, wait, sender] { rebootWithSlot(f, wait, sender); });
}

void ManagerObject::RebootNeeded(sdbus::Result<bool, std::string>&& result) {
    std::optional<sdbus::Error> error;
    auto caller = identify("RebootNeeded", &error);
    if (!caller) return replyError(result, *error);
    if (!admit(reads_, *caller, "RebootNeeded", result)) return;
    readPool_.post([this, uid = caller->uid, result = std::move(result)]() mutable {
        {
            auto r = std::move(result);
            try {
                auto need = translated([this] {
                    engine_.reconcile();
                    return rebootNeeded(engine_.root(), engine_.status());
                });
                reply(r, need.needed, forBus(need.reason));
            } catch (const sdbus::Error& e) {
                replyError(r, e);
            }
        }
        reads_.release(uid);
    });
}

void ManagerObject::FleetStatus(sdbus::Result<std::string>&& result) {
    // Asks the coordinator, which may be slow: a read, on the read pool.
    read(std::move(result), "FleetStatus", [this] {
        return fleet_.status().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    });
}

void ManagerObject::FleetRelease(sdbus::Result<>&& result, bool interactive, std::string id) {
    if (!id.empty() && !validFleetId(id))
        return replyError(result, sdbus::Error("org.kexecd1.Error.InvalidArgument",
                                               "not a node id: " + forBus(escapeText(id))));
    Request req{"FleetRelease " + (id.empty() ? std::string("(this node)") : id),
                authorizationFor("FleetRelease"),
                interactive,
                {}};
    if (!id.empty()) req.details["node"] = id;
    dispatch(std::move(result), std::move(req), [this, id] {
        if (!fleet_.release(id))
            throw Error(ErrorCode::NotFound,
                        (id.empty() ? std::string("this node") : "node " + id) +
                            " holds no reboot slot in group " + fleet_.config().group);
    });
}

std::string ManagerObject::FleetState() {
    return forBus(fleet_.state());
}

}  // namespace kexecd
