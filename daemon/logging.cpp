#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace kexecd {

namespace {

// JOURNAL_STREAM is "dev:ino" of the journal stream; it only counts if our
// stderr still is that stream (not redirected by the caller).
bool stderrIsJournal() {
    const char* e = std::getenv("JOURNAL_STREAM");
    if (!e) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(e, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

void setupLogging(bool debug) {
    std::shared_ptr<spdlog::logger> logger;
    if (stderrIsJournal()) {
        logger = std::make_shared<spdlog::logger>(
            "kexecd", std::make_shared<spdlog::sinks::systemd_sink_mt>("kexecd"));
        logger->set_pattern("%v");
    } else {
        logger = spdlog::stderr_color_mt("kexecd");
        logger->set_pattern("kexecd[%P]: %^%l%$: %v");
    }
    logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

}  // namespace kexecd
