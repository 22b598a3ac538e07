#include "version.hpp"

#include <cctype>

namespace kexecd {

namespace {

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}
bool isAlnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

int compareVersions(std::string_view a, std::string_view b) {
    size_t i = 0, j = 0;
    for (;;) {
        // Separators ('.', '-', '+', '_') only delimit runs; what matters is
        // the runs between them. '~' is handled before anything else.
        while (i < a.size() && !isAlnum(a[i]) && a[i] != '~') ++i;
        while (j < b.size() && !isAlnum(b[j]) && b[j] != '~') ++j;

        bool at = i < a.size() && a[i] == '~';
        bool bt = j < b.size() && b[j] == '~';
        if (at || bt) {
            if (!at) return 1;
            if (!bt) return -1;
            ++i, ++j;
            continue;
        }
        if (i >= a.size() || j >= b.size()) {
            if (i >= a.size() && j >= b.size()) return 0;
            return i >= a.size() ? -1 : 1;
        }

        bool ad = isDigit(a[i]), bd = isDigit(b[j]);
        if (ad != bd) return ad ? 1 : -1;  // a number outranks a word (6.1.0 > 6.1.rc)

        size_t si = i, sj = j;
        if (ad) {
            while (i < a.size() && isDigit(a[i])) ++i;
            while (j < b.size() && isDigit(b[j])) ++j;
            std::string_view ra = a.substr(si, i - si), rb = b.substr(sj, j - sj);
            while (ra.size() > 1 && ra.front() == '0') ra.remove_prefix(1);
            while (rb.size() > 1 && rb.front() == '0') rb.remove_prefix(1);
            if (ra.size() != rb.size()) return ra.size() < rb.size() ? -1 : 1;
            if (int c = ra.compare(rb); c != 0) return c < 0 ? -1 : 1;
        } else {
            while (i < a.size() && isAlnum(a[i]) && !isDigit(a[i])) ++i;
            while (j < b.size() && isAlnum(b[j]) && !isDigit(b[j])) ++j;
            if (int c = a.substr(si, i - si).compare(b.substr(sj, j - sj)); c != 0)
                return c < 0 ? -1 : 1;
        }
    }
}

bool looksLikeVersion(std::string_view s) {
    // "6.1", "5.14.0-427": a digit run followed by '.' and another digit.
    size_t i = 0;
    while (i < s.size() && isDigit(s[i])) ++i;
    return i > 0 && i + 1 < s.size() && s[i] == '.' && isDigit(s[i + 1]);
}

}  // namespace kexecd
