#pragma once

namespace kexecd {

// To the journal when started by systemd (JOURNAL_STREAM names our stderr),
// else to stderr.
void setupLogging(bool debug);

}  // namespace kexecd
