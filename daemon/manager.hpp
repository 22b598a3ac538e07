#pragma once
// The org.kexecd1.Manager object: a thin layer over the Engine. Every
// failure leaves it as a named D-Bus error.
//
// The bus thread only takes calls in: it finds out who calls (uid, pid),
// checks the caller's budget, asks polkit without waiting for the answer,
// and hands the work (and reads of /boot) to fixed pools of worker threads,
// so that neither a password prompt nor a slow file stalls it for others.
#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "authority.hpp"
#include "boot_record.hpp"
#include "budget.hpp"
#include "callers.hpp"
#include "denial_log.hpp"
#include "engine.hpp"
#include "fleet.hpp"
#include "kexecd-adaptor.h"
#include "worker_pool.hpp"

namespace kexecd {

// What a caller may have in progress (see kexecd(8), LIMITS).
struct Limits {
    // State-changing calls (waiting on polkit, queued or running) per uid
    // other than 0, and for all those uids together. uid 0 is never refused.
    static constexpr unsigned kChangesPerUid = 4;
    static constexpr unsigned kChangesTotal = 32;
    // ListKernels, counted apart so that reads never use up the above.
    static constexpr unsigned kReadsPerUid = 8;
    static constexpr unsigned kReadsTotal = 32;
    // Worker threads: state changes (serialised by the engine anyway), reads.
    // One more than the engine needs: a reboot may wait on one for a
    // [Fleet] slot.
    static constexpr unsigned kChangeThreads = 3;
    static constexpr unsigned kReadThreads = 2;
};

class ManagerObject final : public sdbus::AdaptorInterfaces<org::kexecd1::Manager_adaptor> {
  public:
    static constexpr const char* kPath = "/org/kexecd1";

    // `boot`: how this boot began, for BootKind and the firmware times.
    // `fleet`: the [Fleet] coordination; null for none.
    ManagerObject(sdbus::IConnection& conn, Engine& engine, Power& power, BootRecord boot = {},
                  Fleet* fleet = nullptr);
    ~ManagerObject();

    // Takes no more work, drops what has not started and waits at most
    // `limit` for what runs. False if a call is still running: then nothing
    // it uses (the connection, the engine) may be freed.
    bool shutdown(std::chrono::milliseconds limit);

  private:
    using KernelList = std::vector<
        sdbus::Struct<std::string, std::string, std::vector<std::string>, bool, std::string>>;
    using EntryList = std::vector<sdbus::Struct<std::string, std::string, std::string, std::string,
                                                std::vector<std::string>, bool, std::string>>;
    template <typename... R>
    struct Call;
    struct Request {
        std::string what;  // for the log: "Stage 6.1.0-13-amd64"
        Authorization auth;
        bool interactive = false;
        Authority::Details details;
    };

    using CheckList = std::vector<sdbus::Struct<std::string, std::string, std::string>>;
    void ListKernels(sdbus::Result<KernelList>&& result) override;
    void ListBootEntries(sdbus::Result<EntryList>&& result) override;
    void Check(sdbus::Result<CheckList>&& result) override;
    void StageNewest(sdbus::Result<std::string>&& result, bool interactive) override;
    void Stage(sdbus::Result<std::string>&& result, std::string version, std::string cmdline,
               bool interactive) override;
    void Unstage(sdbus::Result<>&& result, bool interactive) override;
    void Reboot(sdbus::Result<>&& result, bool interactive) override;
    void RebootWithFlags(sdbus::Result<>&& result, bool interactive, uint64_t flags) override;
    void Rescan(sdbus::Result<std::string>&& result, bool interactive) override;
    void RebootWithOptions(sdbus::Result<>&& result, bool interactive,
                           std::map<std::string, sdbus::Variant> options) override;
    void RebootNeeded(sdbus::Result<bool, std::string>&& result) override;
    void FleetStatus(sdbus::Result<std::string>&& result) override;
    void FleetRelease(sdbus::Result<>&& result, bool interactive, std::string id) override;
    std::string FleetState() override;

    bool Loaded() override { return current().loaded; }
    std::string StagedVersion() override;
    std::string StagedKernel() override;
    std::vector<std::string> StagedInitrds() override;
    std::string StagedCmdline() override;
    std::string StagedOrigin() override;
    std::string NewestVersion() override;
    std::string RunningVersion() override;
    bool AutoStage() override { return current().autoStage; }
    std::string BootLoader() override;
    std::string DefaultVersion() override;
    std::string BootLoaderCmdline() override;
    std::string StagedBy() override;
    uint64_t StagedTimestamp() override;
    uint64_t StagedBytes() override { return current().stagedBytes; }
    std::string BootKind() override;
    uint64_t FirmwareUSec() override { return boot_.firmwareUsec; }
    uint64_t LoaderUSec() override { return boot_.loaderUsec; }

    template <typename... R>
    bool admit(Budget& budget, const Caller& caller, const std::string& what,
               sdbus::Result<R...>& result);
    template <typename Op, typename... R>
    void dispatch(sdbus::Result<R...>&& result, Request req, Op op);
    template <typename T, typename Read>
    void read(sdbus::Result<T>&& result, const char* what, Read readFn);
    template <typename Op, typename... R>
    void run(std::unique_ptr<Call<R...>> call, Op& op);
    std::optional<Caller> identify(const std::string& what, std::optional<sdbus::Error>* error);
    void callerGone(const std::string& sender);
    void emitChanges(const Status& s);
    // The reboot itself, on a worker: with a coordinator, a slot first.
    void rebootWithSlot(RebootFlags f, bool wait, const std::string& sender);
    Status current();

    Engine& engine_;
    Power& power_;
    const BootRecord boot_;
    Fleet noFleet_{Root(), FleetConfig{}, nullptr};
    Fleet& fleet_;
    std::string fleetWaiter_;  // the sender whose reboot waits for a slot; under mutex_

    DenialLog denials_;
    Budget changes_{Limits::kChangesPerUid, Limits::kChangesTotal};
    Budget reads_{Limits::kReadsPerUid, Limits::kReadsTotal};
    WorkerPool changePool_{"state changes", Limits::kChangeThreads};
    WorkerPool readPool_{"reads", Limits::kReadThreads};
    // Declared after what their handlers use, so destroyed before it.
    Callers callers_;
    Authority authority_;

    std::mutex mutex_;
    Status emitted_;
    bool shutDown_ = false, stopped_ = false;
};

}  // namespace kexecd
