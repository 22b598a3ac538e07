#include "etcd_json.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "text.hpp"

namespace kexecd::etcd {

namespace {

using nlohmann::json;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

[[noreturn]] void fail(const std::string& why) {
    throw Error(ErrorCode::Failed, "unexpected answer from etcd: " + why);
}

json parseObject(std::string_view text) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail("not a JSON object");
    // The gateway's error: {"error":"…","code":14,"message":"…"}.
    if (j.contains("error") || (j.contains("code") && j.contains("message"))) {
        auto m = j.find("message");
        std::string msg = m != j.end() && m->is_string() ? m->get<std::string>() : "error";
        throw Error(ErrorCode::Failed, "etcd: " + escapeText(msg));
    }
    return j;
}

// proto3 JSON: int64 as a string, but accept a number; absent is 0.
int64_t int64Field(const json& o, const char* name) {
    auto it = o.find(name);
    if (it == o.end() || it->is_null()) return 0;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (!it->is_string()) fail(std::string(name) + " is not a number");
    auto s = it->get<std::string>();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) fail(std::string(name) + " is not a number");
    return v;
}

std::string bytesField(const json& o, const char* name) {
    auto it = o.find(name);
    if (it == o.end() || it->is_null()) return "";
    if (!it->is_string()) fail(std::string(name) + " is not a string");
    auto v = base64Decode(it->get<std::string>());
    if (!v) fail(std::string(name) + " is not base64");
    return *v;
}

json put(std::string_view key, std::string_view value) {
    return {{"request_put", {{"key", base64Encode(key)}, {"value", base64Encode(value)}}}};
}

}  // namespace

std::string base64Encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    auto byte = [&](size_t k) { return static_cast<unsigned char>(in[k]); };
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
    }
    if (size_t rest = in.size() - i) {
        unsigned v = byte(i) << 16 | (rest > 1 ? byte(i + 1) << 8 : 0);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += rest > 1 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64Decode(std::string_view in) {
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(in.size() * 3 / 4);
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '+'             ? 62
                : c == '/'             ? 63
                                       : -1;
        if (v < 0) return std::nullopt;
        acc = (acc << 6 | static_cast<unsigned>(v)) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

std::string rangeRequest(std::string_view key) {
    return json{{"key", base64Encode(key)}}.dump();
}

std::string createRequest(std::string_view key, std::string_view value) {
    json cmp = {{"key", base64Encode(key)},
                {"target", "CREATE"},
                {"result", "EQUAL"},
                {"create_revision", "0"}};
    return json{{"compare", json::array({cmp})}, {"success", json::array({put(key, value)})}}
        .dump();
}

std::string casRequest(std::string_view key, std::string_view value, int64_t version) {
    json cmp = {{"key", base64Encode(key)},
                {"target", "VERSION"},
                {"result", "EQUAL"},
                {"version", std::to_string(version)}};
    return json{{"compare", json::array({cmp})}, {"success", json::array({put(key, value)})}}
        .dump();
}

RangeResult parseRange(std::string_view text) {
    json j = parseObject(text);
    RangeResult r;
    if (auto h = j.find("header"); h != j.end() && h->is_object())
        r.revision = int64Field(*h, "revision");
    auto kvs = j.find("kvs");
    if (kvs == j.end() || kvs->is_null()) return r;
    if (!kvs->is_array()) fail("kvs is not a list");
    if (kvs->empty()) return r;
    const json& kv = kvs->front();
    if (!kv.is_object()) fail("a kv is not an object");
    KeyValue out;
    out.value = bytesField(kv, "value");
    out.version = int64Field(kv, "version");
    out.modRevision = int64Field(kv, "mod_revision");
    out.createRevision = int64Field(kv, "create_revision");
    if (out.version <= 0) fail("a key without a version");
    r.kv = std::move(out);
    return r;
}

bool parseTxn(std::string_view text) {
    json j = parseObject(text);
    auto s = j.find("succeeded");
    // proto3 JSON leaves out false.
    if (s == j.end() || s->is_null()) return false;
    if (!s->is_boolean()) fail("succeeded is not a boolean");
    return s->get<bool>();
}

}  // namespace kexecd::etcd
