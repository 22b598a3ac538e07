#pragma once
// Log lines: a level and a message formatted by fmt, handed to one sink.
// Without a sink (tests, tools) a line goes to stderr as
// "kexecd[PID]: LEVEL: message"; the daemon sends lines to the journal when
// systemd started it (daemon/logging.cpp). Events with a MESSAGE_ID go
// through event_log.hpp instead.
#include <fmt/format.h>

#include <functional>
#include <string_view>
#include <utility>

namespace kexecd::log {

// syslog's priorities: the lower, the more severe.
enum class Level { Critical = 2, Error = 3, Warning = 4, Info = 6, Debug = 7 };

// Lines less severe than `least` are dropped (default: Info).
void setLevel(Level least);
bool enabled(Level level);

using Sink = std::function<void(Level, std::string_view message)>;
// nullptr: stderr. Set before threads start.
void setSink(Sink sink);

void write(Level level, std::string_view message);
// What write() does without a sink; for a sink whose target is gone.
void writeStderr(Level level, std::string_view message);
// "info", "warning", ... as the stderr lines name them.
std::string_view levelName(Level level);

template <typename... Args>
void print(Level level, fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(level)) write(level, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void critical(fmt::format_string<Args...> format, Args&&... args) {
    print(Level::Critical, format, std::forward<Args>(args)...);
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
    print(Level::Error, format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
    print(Level::Warning, format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
    print(Level::Info, format, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
    print(Level::Debug, format, std::forward<Args>(args)...);
}

}  // namespace kexecd::log
