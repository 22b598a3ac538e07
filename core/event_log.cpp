#include "event_log.hpp"

#include "log.hpp"

namespace kexecd {

namespace {

thread_local Actor tCurrent;
EventSink gSink;

}  // namespace

std::string_view messageId(EventKind kind) {
    // Fixed for good: scripts and journalctl catalogs match on them.
    switch (kind) {
        case EventKind::Staged:
            return "d7f4eac1a9d141e7922afeb93e6b12a1";
        case EventKind::Unstaged:
            return "254ad6bfdb6246088721f7da0acf714a";
        case EventKind::Reboot:
            return "d371ad0421b04a08a557a4c268f470a5";
        case EventKind::SteppedAside:
            return "820faf4177cd40339f9913f1c69df5c6";
        case EventKind::Denied:
            return "89a934b398114706b0fd0d7bf270d42b";
    }
    return "";
}

ActorScope::ActorScope(Actor actor) : previous_(std::move(tCurrent)) {
    tCurrent = std::move(actor);
}

ActorScope::~ActorScope() {
    tCurrent = std::move(previous_);
}

const Actor& currentActor() {
    return tCurrent;
}

void logEvent(EventKind kind, EventLevel level, std::string message, const std::string& version,
              const std::string& cmdline) {
    Event e{kind, level, std::move(message), {}};
    if (!version.empty()) e.fields.emplace_back("KEXECD_VERSION", version);
    if (!cmdline.empty()) e.fields.emplace_back("KEXECD_CMDLINE", cmdline);
    const Actor& a = currentActor();
    e.fields.emplace_back("KEXECD_ACTOR", a.who);
    if (a.uid) e.fields.emplace_back("KEXECD_CALLER_UID", std::to_string(*a.uid));
    if (a.pid > 0) e.fields.emplace_back("KEXECD_CALLER_PID", std::to_string(a.pid));
    if (gSink) return gSink(e);
    if (level == EventLevel::Warning)
        log::warn("{}", e.message);
    else
        log::info("{}", e.message);
}

void setEventSink(EventSink sink) {
    gSink = std::move(sink);
}

}  // namespace kexecd
