#include "status_format.hpp"

#include <cstdio>
#include <ctime>

namespace kexecctl {

std::string formatBytes(uint64_t bytes) {
    const char* units = "KMGT";
    if (bytes < 1024) return std::to_string(bytes) + "B";
    double v = static_cast<double>(bytes);
    int i = -1;
    while (v >= 1024 && i < 3) {
        v /= 1024;
        ++i;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%c", v, units[i]);
    return buf;
}

std::string formatSeconds(uint64_t usec) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(usec) / 1e6);
    return buf;
}

std::string formatTimestamp(uint64_t usec, uint64_t nowUsec) {
    time_t t = static_cast<time_t>(usec / 1000000);
    struct tm tm {};
    char when[64] = "";
    if (!localtime_r(&t, &tm) || !std::strftime(when, sizeof when, "%a %Y-%m-%d %H:%M:%S %Z", &tm))
        return std::to_string(usec);
    std::string ago;
    if (nowUsec >= usec) {
        uint64_t s = (nowUsec - usec) / 1000000;
        if (s < 60)
            ago = std::to_string(s) + "s ago";
        else if (s < 3600)
            ago = std::to_string(s / 60) + "min ago";
        else if (s < 86400)
            ago = std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "min ago";
        else
            ago = std::to_string(s / 86400) + " days ago";
    }
    return std::string(when) + (ago.empty() ? "" : "; " + ago);
}

}  // namespace kexecctl
