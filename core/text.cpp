#include "text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace kexecd {

namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 (RFC 3629, table 3-7
// of the Unicode standard).
size_t sequenceLength(std::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
    uint8_t c = b(0);
    if (c < 0x80) return 1;
    size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    if (len == 0 || i + len > s.size()) return 0;
    uint8_t lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    if (b(1) < lo || b(1) > hi) return 0;
    for (size_t k = 2; k < len; ++k)
        if (b(k) < 0x80 || b(k) > 0xBF) return 0;
    return len;
}

}  // namespace

size_t invalidUtf8Offset(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        size_t n = sequenceLength(s, i);
        if (n == 0) return i;
        i += n;
    }
    return std::string_view::npos;
}

std::string escapeText(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    auto escape = [&](uint8_t c) {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    };
    for (size_t i = 0; i < s.size();) {
        size_t n = sequenceLength(s, i);
        auto c = static_cast<uint8_t>(s[i]);
        if (n == 0 || c < 0x20 || c == 0x7F) {
            escape(c);
            ++i;
            continue;
        }
        // C1 controls (U+0080..U+009F) are encoded as C2 80..C2 9F.
        if (n == 2 && c == 0xC2 && static_cast<uint8_t>(s[i + 1]) < 0xA0) {
            escape(c);
            escape(static_cast<uint8_t>(s[i + 1]));
            i += 2;
            continue;
        }
        if (c == '\\') {
            out += "\\\\";
            ++i;
            continue;
        }
        out.append(s.substr(i, n));
        i += n;
    }
    return out;
}

bool colorsWanted(bool isTty, const char* noColor, const char* systemdColors, const char* term) {
    if (systemdColors && *systemdColors) {
        std::string_view v = systemdColors;
        return !(v == "0" || v == "false" || v == "no" || v == "off");
    }
    if (noColor) return false;
    if (term && std::string_view(term) == "dumb") return false;
    return isTty;
}

bool hasSuffixNoCase(std::string_view name, std::string_view suffix) {
    if (name.size() <= suffix.size()) return false;
    auto tail = name.substr(name.size() - suffix.size());
    return std::equal(tail.begin(), tail.end(), suffix.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
    });
}

}  // namespace kexecd
