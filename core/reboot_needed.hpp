#pragma once
// Whether a reboot would change anything (kexecctl reboot --if-needed, the
// autoreboot timer): a newer kernel is staged, or the distribution asks for
// one (/run/reboot-required, Debian and Ubuntu).
#include <string>

#include "engine.hpp"
#include "fsutil.hpp"

namespace kexecd {

struct RebootNeed {
    bool needed = false;
    std::string reason;  // why, or why not, as a sentence
};

RebootNeed rebootNeeded(const Root& root, const Status& status);

}  // namespace kexecd
