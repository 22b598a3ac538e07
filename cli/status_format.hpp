#pragma once
// Formatting for `kexecctl status`, as systemctl formats: sizes in K/M/G
// (base 1024), timestamps in local time with how long ago, durations in s.
#include <cstdint>
#include <string>

namespace kexecctl {

std::string formatBytes(uint64_t bytes);  // "78.1M"
std::string formatTimestamp(uint64_t usec,
                            uint64_t nowUsec);  // "Fri 2026-12-04 05:40:01 UTC; 3min ago"
std::string formatSeconds(uint64_t usec);       // "41.2s"

}  // namespace kexecctl
