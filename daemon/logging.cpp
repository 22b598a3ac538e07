#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "event_log.hpp"

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

// MESSAGE_ID= and the event's fields along with the text, so that
// `journalctl MESSAGE_ID=...` or `KEXECD_VERSION=...` finds it.
void sendToJournal(const Event& e) {
    int priority = e.level == EventLevel::Warning  ? LOG_WARNING
                   : e.level == EventLevel::Notice ? LOG_NOTICE
                                                   : LOG_INFO;
    std::vector<std::string> fields{
        "MESSAGE=" + e.message, "MESSAGE_ID=" + std::string(messageId(e.kind)),
        "PRIORITY=" + std::to_string(priority), "SYSLOG_IDENTIFIER=kexecd"};
    for (auto& [k, v] : e.fields) fields.push_back(k + "=" + v);
    std::vector<iovec> iov;
    for (auto& f : fields) iov.push_back({f.data(), f.size()});
    if (::sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0)
        spdlog::info("{}", e.message);  // the journal is gone: stderr still is
}

}  // namespace

void setupLogging(bool debug) {
    std::shared_ptr<spdlog::logger> logger;
    if (stderrIsJournal()) {
        logger = std::make_shared<spdlog::logger>(
            "kexecd", std::make_shared<spdlog::sinks::systemd_sink_mt>("kexecd"));
        logger->set_pattern("%v");
        setEventSink(sendToJournal);
    } else {
        logger = spdlog::stderr_color_mt("kexecd");
        logger->set_pattern("kexecd[%P]: %^%l%$: %v");
    }
    logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

}  // namespace kexecd
