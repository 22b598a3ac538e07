#pragma once
// /etc/kexecd.conf and /etc/kexecd.conf.d/*.conf, INI sections [Stage] and
// [Reboot].
#include <filesystem>
#include <string>
#include <vector>

#include "fsutil.hpp"

namespace kexecd {

struct Config {
    bool autoStage = true;
    std::string cmdlineAppend;               // appended to the derived command line
    std::vector<std::string> cmdlineRemove;  // parameter names dropped from it
    bool requireInitrd = true;
    bool requireModules = true;
    // How long /boot must stay quiet before AutoStage looks at it, so that a
    // kernel or initrd still being written is never staged.
    unsigned settleMs = 2000;
    // [Reboot] UseKexec=: make every reboot use the staged kernel on systemd
    // < 255 too, where `systemctl reboot` ignores it (systemd >= 255 already
    // does this whenever a kernel is loaded).
    bool rebootUsesKexec = false;
};

// Reads `mainFile` (missing is fine) and then the drop-ins in `mainFile`.d/,
// in lexical order; later files override earlier ones. Bad values throw
// Error(InvalidArgument) naming file and line; unknown keys and sections are
// appended to `warnings`.
Config loadConfig(const std::filesystem::path& mainFile, std::vector<std::string>* warnings);

// "yes"/"no" and the usual synonyms; nullopt when it is neither.
std::optional<bool> parseBool(std::string_view s);

}  // namespace kexecd
