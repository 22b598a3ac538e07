#include "log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "text.hpp"

namespace kexecd::log {

namespace {

std::atomic<int> least{static_cast<int>(Level::Info)};
Sink sink;

bool colours() {
    static const bool on = colorsWanted(::isatty(STDERR_FILENO) == 1, std::getenv("NO_COLOR"),
                                        std::getenv("SYSTEMD_COLORS"), std::getenv("TERM"));
    return on;
}

std::string_view colour(Level level) {
    switch (level) {
        case Level::Critical:
        case Level::Error:
            return "\x1b[1;31m";
        case Level::Warning:
            return "\x1b[1;33m";
        case Level::Info:
            return "\x1b[32m";
        case Level::Debug:
            return "\x1b[36m";
    }
    return "";
}

}  // namespace

void writeStderr(Level level, std::string_view message) {
    std::string line = "kexecd[" + std::to_string(::getpid()) + "]: ";
    if (colours())
        line.append(colour(level)).append(levelName(level)).append("\x1b[0m");
    else
        line.append(levelName(level));
    line.append(": ").append(message).append("\n");
    // One write per line, so that lines from worker threads never mix.
    static std::mutex m;
    std::lock_guard lock(m);
    for (size_t done = 0; done < line.size();) {
        ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n <= 0) return;  // nowhere left to say it
        done += static_cast<size_t>(n);
    }
}

void setLevel(Level l) {
    least.store(static_cast<int>(l), std::memory_order_relaxed);
}

bool enabled(Level level) {
    return static_cast<int>(level) <= least.load(std::memory_order_relaxed);
}

void setSink(Sink s) {
    sink = std::move(s);
}

void write(Level level, std::string_view message) {
    if (sink)
        sink(level, message);
    else
        writeStderr(level, message);
}

std::string_view levelName(Level level) {
    switch (level) {
        case Level::Critical:
            return "critical";
        case Level::Error:
            return "error";
        case Level::Warning:
            return "warning";
        case Level::Info:
            return "info";
        case Level::Debug:
            return "debug";
    }
    return "info";
}

}  // namespace kexecd::log
