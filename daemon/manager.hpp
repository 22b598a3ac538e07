#pragma once
// The org.kexecd1.Manager object: a thin layer over the Engine. Every
// failure leaves it as a named D-Bus error; state-changing calls are
// authorized and run on worker threads, so that a polkit password prompt or
// a slow kexec load never stalls the bus loop for other callers.
#include <sdbus-c++/sdbus-c++.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "authority.hpp"
#include "engine.hpp"
#include "kexecd-adaptor.h"

namespace kexecd {

class ManagerObject final : public sdbus::AdaptorInterfaces<org::kexecd1::Manager_adaptor> {
  public:
    static constexpr const char* kPath = "/org/kexecd1";

    ManagerObject(sdbus::IConnection& conn, Engine& engine, Power& power);
    ~ManagerObject();

    // Waits for in-flight calls, at most `limit`; false if some are left.
    bool drain(std::chrono::milliseconds limit);

  private:
    std::vector<
        sdbus::Struct<std::string, std::string, std::vector<std::string>, bool, std::string>>
    ListKernels() override;
    void StageNewest(sdbus::Result<std::string>&& result, bool interactive) override;
    void Stage(sdbus::Result<std::string>&& result, std::string version, std::string cmdline,
               bool interactive) override;
    void Unstage(sdbus::Result<>&& result, bool interactive) override;
    void Reboot(sdbus::Result<>&& result, bool interactive) override;
    void Rescan(sdbus::Result<std::string>&& result, bool interactive) override;

    bool Loaded() override { return engine_.status().loaded; }
    std::string StagedVersion() override { return engine_.status().stagedVersion; }
    std::string StagedKernel() override { return engine_.status().stagedKernel; }
    std::vector<std::string> StagedInitrds() override { return engine_.status().stagedInitrds; }
    std::string StagedCmdline() override { return engine_.status().stagedCmdline; }
    std::string StagedOrigin() override { return engine_.status().stagedOrigin; }
    std::string NewestVersion() override { return engine_.status().newestVersion; }
    std::string RunningVersion() override { return engine_.status().runningVersion; }
    bool AutoStage() override { return engine_.status().autoStage; }

    template <typename Op, typename... R>
    void dispatch(sdbus::Result<R...>&& result, Authorization auth, bool interactive, Op op);
    void emitChanges(const Status& s);

    Engine& engine_;
    Power& power_;
    Authority authority_;

    std::mutex mutex_;
    std::condition_variable idle_;
    unsigned inFlight_ = 0;
    Status emitted_;
};

}  // namespace kexecd
