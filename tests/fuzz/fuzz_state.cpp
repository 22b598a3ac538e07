// /run/kexecd/state.json as loadState reads it. Only kexecd::Error may come
// out of stateFromJson: anything else would take the daemon down at start.
#include <cstdint>
#include <string>

#include "error.hpp"
#include "fuzz_check.hpp"
#include "state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    kexecd::Staged staged;
    try {
        staged = kexecd::stateFromJson(text);
    } catch (const kexecd::Error&) {
        return 0;
    }
    // What was read is what will be written back when the daemon saves it.
    FUZZ_CHECK(kexecd::stateFromJson(kexecd::stateToJson(staged)) == staged);
    return 0;
}
