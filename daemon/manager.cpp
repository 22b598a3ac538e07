#include "manager.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "error.hpp"

namespace kexecd {

namespace {

// A bound on worker threads, so a flood of calls waiting on polkit cannot
// exhaust the daemon.
constexpr unsigned kMaxInFlight = 32;

sdbus::Error toDbus(const Error& e) {
    return sdbus::Error("org.kexecd1.Error." + std::string(errorName(e.code())), e.what());
}

// The adaptor boundary: sdbus-c++ aborts the process on anything but an
// sdbus::Error, so every exception is translated here.
template <typename F>
auto translated(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const sdbus::Error&) {
        throw;
    } catch (const Error& e) {
        throw toDbus(e);
    } catch (const std::exception& e) {
        spdlog::error("internal error: {}", e.what());
        throw sdbus::Error("org.kexecd1.Error.Failed", std::string("internal error: ") + e.what());
    }
}

}  // namespace

ManagerObject::ManagerObject(sdbus::IConnection& conn, Engine& engine, Power& power)
    : AdaptorInterfaces(conn, kPath), engine_(engine), power_(power) {
    emitted_ = engine_.status();
    engine_.setListener([this](const Status& s) { emitChanges(s); });
    registerAdaptor();
}

ManagerObject::~ManagerObject() {
    engine_.setListener(nullptr);
    unregisterAdaptor();
}

bool ManagerObject::drain(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, limit, [this] { return inFlight_ == 0; });
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
        emitted_ = s;
    }
    if (names.empty()) return;
    try {
        getObject().emitPropertiesChangedSignal(INTERFACE_NAME, names);
    } catch (const sdbus::Error& e) {
        spdlog::warn("cannot emit PropertiesChanged: {}", e.getMessage());
    }
}

template <typename Op, typename... R>
void ManagerObject::dispatch(sdbus::Result<R...>&& result, Authorization auth, bool interactive,
                             Op op) {
    // Only valid inside the handler: copy it before leaving the bus thread.
    std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
    {
        std::lock_guard lock(mutex_);
        if (inFlight_ >= kMaxInFlight) {
            result.returnError(
                sdbus::Error("org.kexecd1.Error.Busy", "too many requests in progress; try again"));
            return;
        }
        ++inFlight_;
    }
    std::thread([this, sender = std::move(sender), auth = std::move(auth), interactive,
                 op = std::move(op), result = std::move(result)]() mutable {
        try {
            translated([&] {
                // Authorize before touching any state.
                authority_.check(sender, auth, interactive);
                if constexpr (sizeof...(R) == 0) {
                    op();
                    result.returnResults();
                } else {
                    result.returnResults(op());
                }
            });
        } catch (const sdbus::Error& e) {
            try {
                result.returnError(e);
            } catch (const sdbus::Error& e2) {
                spdlog::warn("cannot send error reply: {}", e2.getMessage());
            }
        }
        std::lock_guard lock(mutex_);
        --inFlight_;
        idle_.notify_all();
    }).detach();
}

std::vector<sdbus::Struct<std::string, std::string, std::vector<std::string>, bool, std::string>>
ManagerObject::ListKernels() {
    return translated([&] {
        std::vector<
            sdbus::Struct<std::string, std::string, std::vector<std::string>, bool, std::string>>
            out;
        for (auto& k : engine_.listKernels())
            out.emplace_back(k.version, k.image, k.initrds, k.bootable, k.reason);
        return out;
    });
}

void ManagerObject::StageNewest(sdbus::Result<std::string>&& result, bool interactive) {
    dispatch(std::move(result), authorizationFor("StageNewest"), interactive,
             [this] { return engine_.stage("", ""); });
}

void ManagerObject::Stage(sdbus::Result<std::string>&& result, std::string version,
                          std::string cmdline, bool interactive) {
    auto auth = authorizationFor("Stage", !cmdline.empty());
    dispatch(std::move(result), std::move(auth), interactive,
             [this, version = std::move(version), cmdline = std::move(cmdline)] {
                 return engine_.stage(version, cmdline);
             });
}

void ManagerObject::Unstage(sdbus::Result<>&& result, bool interactive) {
    dispatch(std::move(result), authorizationFor("Unstage"), interactive,
             [this] { engine_.unstage(); });
}

void ManagerObject::Reboot(sdbus::Result<>&& result, bool interactive) {
    dispatch(std::move(result), authorizationFor("Reboot"), interactive,
             [this] { engine_.reboot(power_); });
}

void ManagerObject::Rescan(sdbus::Result<std::string>&& result, bool interactive) {
    dispatch(std::move(result), authorizationFor("Rescan"), interactive,
             [this] { return engine_.rescan(); });
}

}  // namespace kexecd
