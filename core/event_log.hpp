#pragma once
// The events an administrator looks up in the journal by MESSAGE_ID (listed in
// kexecd(8)): staged, unstaged, reboot, stepped aside, denied. Each carries
// structured fields (KEXECD_VERSION=, KEXECD_CMDLINE=, the caller's
// KEXECD_CALLER_UID=/KEXECD_CALLER_PID=) besides its text. The core only
// describes them; the daemon sends them to the journal (setEventSink), and
// without a sink they are plain log lines.
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kexecd {

enum class EventKind { Staged, Unstaged, Reboot, SteppedAside, Denied };

// The 128-bit id as 32 hex digits, as journalctl MESSAGE_ID= matches it.
std::string_view messageId(EventKind kind);

// Who a change is for: set by the daemon around each call (ActorScope), so
// that the core can say who staged without every function taking a caller.
struct Actor {
    std::string who = "AutoStage";  // "AutoStage", "uid 0 pid 42 (kexecctl)"
    std::optional<uid_t> uid;       // the caller's, when a bus caller asked
    pid_t pid = 0;
};

// Sets the calling thread's actor for its lifetime (the daemon's worker runs
// one call at a time per thread).
class ActorScope {
  public:
    explicit ActorScope(Actor actor);
    ~ActorScope();
    ActorScope(const ActorScope&) = delete;
    ActorScope& operator=(const ActorScope&) = delete;

  private:
    Actor previous_;
};
const Actor& currentActor();

enum class EventLevel { Info, Warning, Notice };

struct Event {
    EventKind kind;
    EventLevel level = EventLevel::Info;
    std::string message;
    // KEY=value pairs beyond MESSAGE_ID; keys are journal field names.
    std::vector<std::pair<std::string, std::string>> fields;
};

// Fills in MESSAGE_ID's companion fields from `version`, `cmdline` and the
// current actor, then hands the event to the sink.
void logEvent(EventKind kind, EventLevel level, std::string message, const std::string& version,
              const std::string& cmdline = "");

using EventSink = std::function<void(const Event&)>;
// nullptr: back to plain log lines. Set before threads start.
void setEventSink(EventSink sink);

}  // namespace kexecd
