#pragma once
// Requests to, and answers from, etcd's v3 JSON gateway (etcd 3.4+:
// POST /v3/kv/range, /v3/kv/txn). Keys and values travel base64-encoded,
// 64-bit numbers as JSON strings. Pure: no I/O, so it is fuzzed and unit
// tested on its own.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kexecd::etcd {

std::string base64Encode(std::string_view in);
// nullopt when `in` is not base64 (standard alphabet, padding optional).
std::optional<std::string> base64Decode(std::string_view in);

struct KeyValue {
    std::string value;
    int64_t version = 0;  // 0: the key does not exist
    int64_t modRevision = 0;
    int64_t createRevision = 0;
};

struct RangeResult {
    int64_t revision = 0;        // the store's revision when it answered
    std::optional<KeyValue> kv;  // nullopt: no such key
};

// Body for /v3/kv/range reading one key.
std::string rangeRequest(std::string_view key);
// Body for /v3/kv/txn: put `value` only if `key` does not exist.
std::string createRequest(std::string_view key, std::string_view value);
// Body for /v3/kv/txn: put `value` only if `key`'s version is still
// `version` (compare-and-swap; a conflict is retried by the caller).
std::string casRequest(std::string_view key, std::string_view value, int64_t version);

// Throw Error(Failed) when the answer is not what etcd sends, or is etcd's
// error object ({"error":…,"code":…,"message":…}), naming its message.
RangeResult parseRange(std::string_view json);
// Whether the transaction's comparison held (and so its put was applied).
bool parseTxn(std::string_view json);

}  // namespace kexecd::etcd
