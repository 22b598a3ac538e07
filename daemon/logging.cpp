#include "logging.hpp"

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
#include "log.hpp"

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
        log::writeStderr(log::Level::Info, e.message);  // the journal is gone: stderr still is
}

// The level as the journal's PRIORITY=, so that `journalctl -p warning`
// and the colours of `systemctl status` work.
void lineToJournal(log::Level level, std::string_view message) {
    if (::sd_journal_send("MESSAGE=%.*s", static_cast<int>(message.size()), message.data(),
                          "PRIORITY=%i", static_cast<int>(level), "SYSLOG_IDENTIFIER=kexecd",
                          nullptr) < 0)
        log::writeStderr(level, message);
}

}  // namespace

void setupLogging(bool debug) {
    if (stderrIsJournal()) {
        log::setSink(lineToJournal);
        setEventSink(sendToJournal);
    }
    log::setLevel(debug ? log::Level::Debug : log::Level::Info);
}

}  // namespace kexecd
