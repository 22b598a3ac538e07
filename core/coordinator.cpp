#include "coordinator.hpp"

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "etcd_json.hpp"
#include "log.hpp"
#include "text.hpp"

namespace kexecd {

namespace {

[[noreturn]] void unavailable(const std::string& why) {
    throw Error(ErrorCode::CoordinatorUnavailable, why);
}

std::string trimSlash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

// Tries each endpoint in turn until one answers; the one that answered is
// tried first next time.
class Endpoints {
  public:
    Endpoints(std::vector<std::string> urls, std::shared_ptr<HttpTransport> t)
        : urls_(std::move(urls)), transport_(std::move(t)) {
        if (urls_.empty()) unavailable("[Fleet] Endpoints= is empty");
        for (auto& u : urls_) u = trimSlash(u);
    }
    HttpResponse post(const std::string& path, const std::string& body,
                      const std::vector<std::string>& headers = {}) {
        std::string errors;
        for (size_t n = 0; n < urls_.size(); ++n) {
            size_t i = (first_ + n) % urls_.size();
            try {
                auto r = transport_->post(urls_[i] + path, body, headers);
                // etcd answers 503 while it has no leader: try another member.
                if (r.status >= 500 && n + 1 < urls_.size()) {
                    errors += (errors.empty() ? "" : "; ") + urls_[i] + ": HTTP " +
                              std::to_string(r.status);
                    continue;
                }
                first_ = i;
                return r;
            } catch (const Error& e) {
                if (e.code() != ErrorCode::CoordinatorUnavailable) throw;
                errors += (errors.empty() ? "" : "; ") + std::string(e.what());
            }
        }
        unavailable("no coordinator endpoint answered: " + errors);
    }

  private:
    std::vector<std::string> urls_;
    std::shared_ptr<HttpTransport> transport_;
    size_t first_ = 0;
};

class EtcdCoordinator final : public Coordinator {
  public:
    EtcdCoordinator(const FleetConfig& c, std::shared_ptr<HttpTransport> t)
        : ep_(c.endpoints, std::move(t)), key_(semaphoreKey(c.group)), slots_(c.slots) {}

    TakeResult take(const std::string& id) override {
        for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
            auto cur = read();
            if (!cur.kv) {
                // Nobody made the semaphore yet: create it, with our slot,
                // unless someone else does it first.
                Semaphore s{slots_, {}};
                s.take(id);
                if (txn(etcd::createRequest(key_, serializeSemaphore(s)))) return {true, ""};
                continue;
            }
            Semaphore s = parse(*cur.kv);
            if (s.holds(id)) return {true, ""};
            if (!s.take(id)) return {false, describeSemaphore(s)};
            if (txn(etcd::casRequest(key_, serializeSemaphore(s), cur.kv->version)))
                return {true, ""};
            log::debug("reboot semaphore changed under us (version {}); trying again",
                       cur.kv->version);
        }
        return {false, "the semaphore keeps changing (" + std::to_string(kCasAttempts) +
                           " conflicting writes in a row)"};
    }

    bool release(const std::string& id) override {
        for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
            auto cur = read();
            if (!cur.kv) return false;
            Semaphore s = parse(*cur.kv);
            if (!s.release(id)) return false;
            if (txn(etcd::casRequest(key_, serializeSemaphore(s), cur.kv->version))) return true;
        }
        unavailable("the reboot semaphore keeps changing; could not release " + id);
    }

    std::optional<Semaphore> semaphore() override {
        auto cur = read();
        if (!cur.kv) return std::nullopt;
        return parse(*cur.kv);
    }

  private:
    etcd::RangeResult read() {
        return call("/v3/kv/range", etcd::rangeRequest(key_), etcd::parseRange);
    }
    bool txn(const std::string& body) { return call("/v3/kv/txn", body, etcd::parseTxn); }

    template <typename Parse>
    auto call(const std::string& path, const std::string& body, Parse parse)
        -> decltype(parse(std::string_view())) {
        auto r = ep_.post(path, body);
        if (r.status != 200)
            unavailable("etcd answered HTTP " + std::to_string(r.status) + " to " + path + ": " +
                        escapeText(r.body.substr(0, 200)));
        try {
            return parse(r.body);
        } catch (const Error& e) {
            unavailable(e.what());
        }
    }

    // A value kexecd does not understand is never overwritten.
    Semaphore parse(const etcd::KeyValue& kv) {
        try {
            return parseSemaphore(kv.value);
        } catch (const Error& e) {
            unavailable(std::string(e.what()) + " (key " + key_ + ")");
        }
    }

    Endpoints ep_;
    std::string key_;
    unsigned slots_;
};

class FleetLockCoordinator final : public Coordinator {
  public:
    FleetLockCoordinator(const FleetConfig& c, std::shared_ptr<HttpTransport> t)
        : ep_(c.endpoints, std::move(t)), group_(c.group) {}

    TakeResult take(const std::string& id) override {
        auto r = ep_.post("/v1/pre-reboot", body(id), kHeaders);
        if (r.status == 200) return {true, ""};
        return {false, refusal(r)};
    }

    bool release(const std::string& id) override {
        auto r = ep_.post("/v1/steady-state", body(id), kHeaders);
        if (r.status == 200) return true;
        unavailable("the FleetLock server refused to release " + id + ": " + refusal(r));
    }

    std::optional<Semaphore> semaphore() override { return std::nullopt; }

  private:
    inline static const std::vector<std::string> kHeaders = {"fleet-lock-protocol: true",
                                                             "Content-Type: application/json"};

    std::string body(const std::string& id) const {
        return nlohmann::json{{"client_params", {{"id", id}, {"group", group_}}}}.dump();
    }

    // The server's {"kind":…,"value":…}, or the status when there is none.
    static std::string refusal(const HttpResponse& r) {
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        std::string why = "HTTP " + std::to_string(r.status);
        if (j.is_object()) {
            auto text = [&](const char* k) {
                auto it = j.find(k);
                return it != j.end() && it->is_string() ? escapeText(it->get<std::string>()) : "";
            };
            std::string kind = text("kind"), value = text("value");
            if (!kind.empty() || !value.empty())
                why += ": " + kind + (value.empty() ? "" : ": ") + value;
        }
        return why;
    }

    Endpoints ep_;
    std::string group_;
};

}  // namespace

std::unique_ptr<Coordinator> makeCoordinator(const FleetConfig& config,
                                             std::shared_ptr<HttpTransport> transport) {
    switch (config.coordinator) {
        case CoordinatorKind::Etcd:
            return std::make_unique<EtcdCoordinator>(config, std::move(transport));
        case CoordinatorKind::FleetLock:
            return std::make_unique<FleetLockCoordinator>(config, std::move(transport));
        case CoordinatorKind::None:
            break;
    }
    return nullptr;
}

}  // namespace kexecd
