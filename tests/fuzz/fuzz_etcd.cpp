// What etcd's JSON gateway (or anything answering on its port) sends, and
// the semaphore value in it: only kexecd::Error may come out, and a
// semaphore that was read is written back as it was read.
#include <cstdint>
#include <string>

#include "airlock_semaphore.hpp"
#include "error.hpp"
#include "etcd_json.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        auto r = kexecd::etcd::parseRange(text);
        if (r.kv) {
            auto s = kexecd::parseSemaphore(r.kv->value);
            FUZZ_CHECK(kexecd::parseSemaphore(kexecd::serializeSemaphore(s)) == s);
        }
    } catch (const kexecd::Error&) {
    }
    try {
        kexecd::etcd::parseTxn(text);
    } catch (const kexecd::Error&) {
    }
    try {
        auto s = kexecd::parseSemaphore(text);
        FUZZ_CHECK(kexecd::parseSemaphore(kexecd::serializeSemaphore(s)) == s);
        kexecd::Semaphore t = s;
        t.take("fuzz");
        t.release("fuzz");
        FUZZ_CHECK(t.holders.size() <= s.holders.size());
    } catch (const kexecd::Error&) {
    }
    auto b = kexecd::etcd::base64Decode(text);
    if (b) FUZZ_CHECK(kexecd::etcd::base64Decode(kexecd::etcd::base64Encode(*b)) == b);
    return 0;
}
