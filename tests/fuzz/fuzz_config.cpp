// kexecd.conf and its drop-ins: the text of one file, as parseConfigText
// gets it from loadConfig.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "fuzz_check.hpp"
#include "text.hpp"

namespace {

// Fit for the journal and D-Bus: UTF-8, one line, no control characters
// (a tab allowed where `tab`).
bool printable(std::string_view s, bool tab = false) {
    if (!kexecd::isValidUtf8(s)) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && !(tab && c == '\t')) || c == 0x7f) return false;
        if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0)
            return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    kexecd::Config config;
    std::vector<std::string> warnings;
    try {
        kexecd::parseConfigText(text, "fuzz.conf", &config, &warnings);
        FUZZ_CHECK(printable(config.cmdlineAppend, true));
        for (auto& word : config.cmdlineRemove) FUZZ_CHECK(printable(word, true));
        FUZZ_CHECK(config.settleMs <= 3600 * 1000);
    } catch (const kexecd::Error& e) {
        FUZZ_CHECK(e.code() == kexecd::ErrorCode::InvalidArgument);
        FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz.conf:"));
        FUZZ_CHECK(printable(e.what()));
    }
    for (auto& w : warnings) FUZZ_CHECK(printable(w));
    kexecd::parseBool(text);
    return 0;
}
