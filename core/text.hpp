#pragma once
// Text read from files (names in /boot, version banners, /proc/cmdline,
// configuration) reaches D-Bus, the journal and terminals. D-Bus refuses
// strings that are not UTF-8, and control characters forge lines in logs and
// terminals, so everything that came from a file is checked or escaped here.
#include <string>
#include <string_view>

namespace kexecd {

// Offset of the first byte that does not belong to well-formed UTF-8
// (overlong forms, surrogates and code points past U+10FFFF included), or
// std::string_view::npos when all of `s` is valid.
size_t invalidUtf8Offset(std::string_view s);
inline bool isValidUtf8(std::string_view s) {
    return invalidUtf8Offset(s) == std::string_view::npos;
}

// For showing or logging: bytes that are not valid UTF-8, C0 and C1 control
// characters and DEL become "\xNN", and '\' itself becomes "\\", so that the
// result is valid UTF-8, one line, and tells apart names that differ only in
// such bytes.
std::string escapeText(std::string_view s);

// Whether `name` ends in `suffix` (given in lower case) in any case, longer
// than it: file names on a FAT ESP ("x.EFI" is a UKI).
bool hasSuffixNoCase(std::string_view name, std::string_view suffix);

// Colours only on a terminal, as systemd's tools decide (kexecctl's output,
// the daemon's lines on stderr). NO_COLOR (any value) turns them off;
// SYSTEMD_COLORS=0/false/no/off turns them off, any other value (1, true,
// 16, 256, 24bit) turns them on even without a terminal; TERM=dumb means
// none. The arguments are the environment's values (nullptr: unset).
bool colorsWanted(bool isTty, const char* noColor, const char* systemdColors, const char* term);

}  // namespace kexecd
