// text.hpp, which everything read from files passes through before it
// reaches D-Bus, the journal or a terminal.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "text.hpp"

namespace {

// UTF-8 decoded the plain way, as a second opinion on invalidUtf8Offset.
size_t referenceInvalidOffset(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        size_t more;
        uint32_t cp, min;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            more = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            more = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            more = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        for (size_t k = 1; k <= more; ++k) {
            if (i + k >= s.size()) return i;
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (d & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += more + 1;
    }
    return std::string_view::npos;
}

// C0 controls, DEL, and C1 controls (U+0080..U+009F, C2 80..C2 9F in
// UTF-8), which terminals also act on.
bool hasControl(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return true;
        if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(s[i + 1]) < 0xA0)
            return true;
    }
    return false;
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// The inverse of escapeText; aborts on anything escapeText cannot produce.
std::string unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        FUZZ_CHECK(i + 1 < s.size());
        if (s[i + 1] == '\\') {
            out += '\\';
            ++i;
            continue;
        }
        FUZZ_CHECK(s[i + 1] == 'x' && i + 3 < s.size());
        int hi = hexValue(s[i + 2]), lo = hexValue(s[i + 3]);
        FUZZ_CHECK(hi >= 0 && lo >= 0);
        out += static_cast<char>(hi * 16 + lo);
        i += 3;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);

    size_t bad = kexecd::invalidUtf8Offset(s);
    FUZZ_CHECK(bad == referenceInvalidOffset(s));
    FUZZ_CHECK(kexecd::isValidUtf8(s) == (bad == std::string_view::npos));
    if (bad != std::string_view::npos) {
        FUZZ_CHECK(bad < s.size());
        FUZZ_CHECK(kexecd::isValidUtf8(s.substr(0, bad)));
    }

    std::string e = kexecd::escapeText(s);
    FUZZ_CHECK(kexecd::isValidUtf8(e));
    FUZZ_CHECK(!hasControl(e));
    // Two names that differ are shown differently.
    FUZZ_CHECK(unescape(e) == s);
    // Text that needs no escaping is shown as it is, and only such text.
    bool plain =
        bad == std::string_view::npos && !hasControl(s) && s.find('\\') == std::string_view::npos;
    FUZZ_CHECK((e == s) == plain);
    return 0;
}
