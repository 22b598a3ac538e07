#pragma once
// An etcd JSON gateway in memory, enough for the coordinator: /v3/kv/range
// and /v3/kv/txn with one CREATE or VERSION comparison and one put. Faults
// are injected by the tests: `down` (no answer), `beforeTxn` (another
// writer gets in between a read and a transaction).
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "coordinator.hpp"
#include "error.hpp"
#include "etcd_json.hpp"

namespace kexecd::test {

class FakeEtcd final : public HttpTransport {
  public:
    struct Kv {
        std::string value;
        int64_t version = 0, modRevision = 0, createRevision = 0;
    };
    std::map<std::string, Kv> kvs;
    int64_t revision = 1;
    bool down = false;
    int txns = 0, failedTxns = 0, calls = 0;
    std::function<void()> beforeTxn;
    std::mutex mutex;  // post() holds it; a test changing kvs from another thread too

    void put(const std::string& key, const std::string& value) {
        auto& kv = kvs[key];
        ++revision;
        if (kv.version == 0) kv.createRevision = revision;
        kv.value = value;
        ++kv.version;
        kv.modRevision = revision;
    }

    HttpResponse post(const std::string& url, const std::string& body,
                      const std::vector<std::string>&) override {
        std::lock_guard lock(mutex);
        ++calls;
        if (down) throw Error(ErrorCode::CoordinatorUnavailable, url + ": Connection refused");
        auto j = nlohmann::json::parse(body);
        auto header = nlohmann::json{{"revision", std::to_string(revision)}};
        if (url.ends_with("/v3/kv/range")) {
            auto key = *etcd::base64Decode(j["key"].get<std::string>());
            nlohmann::json out = {{"header", header}};
            if (auto it = kvs.find(key); it != kvs.end())
                out["kvs"] = {{{"key", j["key"]},
                               {"value", etcd::base64Encode(it->second.value)},
                               {"version", std::to_string(it->second.version)},
                               {"mod_revision", std::to_string(it->second.modRevision)},
                               {"create_revision", std::to_string(it->second.createRevision)}}};
            return {200, out.dump()};
        }
        if (url.ends_with("/v3/kv/txn")) {
            if (beforeTxn) beforeTxn();
            ++txns;
            auto& cmp = j["compare"][0];
            auto key = *etcd::base64Decode(cmp["key"].get<std::string>());
            auto it = kvs.find(key);
            bool ok;
            if (cmp["target"] == "CREATE")
                ok = it == kvs.end();
            else
                ok = it != kvs.end() && std::to_string(it->second.version) == cmp["version"];
            if (ok) {
                auto& p = j["success"][0]["request_put"];
                put(*etcd::base64Decode(p["key"].get<std::string>()),
                    *etcd::base64Decode(p["value"].get<std::string>()));
            } else {
                ++failedTxns;
            }
            nlohmann::json out = {{"header", header}};
            if (ok) out["succeeded"] = true;  // proto3 JSON leaves out false
            return {200, out.dump()};
        }
        return {404, R"({"error":"Not Found","code":5,"message":"Not Found"})"};
    }
};

}  // namespace kexecd::test
