#pragma once
// /etc/kexecd.conf and /etc/kexecd.conf.d/*.conf, INI sections [Stage] and
// [Reboot] and [Fleet], with the comment rules of systemd's own files (see
// kexecd.conf(5)).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleet_config.hpp"
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
    // [Stage] CmdlineSource=bootloader: the boot loader's configured command
    // line for the staged kernel instead of the running one.
    bool cmdlineFromBootLoader = false;
    // [Stage] Kernel=default: what the boot loader boots by default, not the
    // newest (AutoStage, Rescan() and Stage("")).
    bool bootLoaderDefaultKernel = false;
    // [Reboot] StepAside=: unload before a kexec when the next boot needs
    // the firmware (BootNext, a capsule, grub-reboot, /no-kexec-reboot).
    bool stepAside = true;
    // [Fleet]: coordinated rolling reboots (none by default).
    FleetConfig fleet;
};

// A configuration file is a few lines; anything bigger is a mistake (a log or
// an image put there), refused rather than read.
constexpr size_t kConfigFileMax = 1 << 20;

// Reads `mainFile` (missing is fine) and then the drop-ins in `mainFile`.d/,
// in lexical order; later files override earlier ones. Bad values, bad lines
// and a `mainFile` that is not a regular file throw Error(InvalidArgument)
// naming file and line; unknown keys and sections, and drop-ins that are not
// regular files (skipped), are appended to `warnings`.
Config loadConfig(const std::filesystem::path& mainFile, std::vector<std::string>* warnings);

// The system's configuration, as systemd's own daemons read theirs:
// /etc/kexecd.conf, then the *.conf drop-ins of kDropInDirs. A drop-in in an
// earlier directory replaces one of the same name in a later one (an
// administrator's /etc over a package's /usr/lib); one linked to /dev/null
// masks that name. The drop-ins left are applied in the order of their file
// names, whatever their directory, each overriding what came before. Paths
// are under `root`; messages name them as the system sees them. Errors as
// loadConfig().
constexpr const char* kMainConfig = "/etc/kexecd.conf";
constexpr const char* kDropInDirs[] = {"/etc/kexecd.conf.d", "/run/kexecd.conf.d",
                                       "/usr/local/lib/kexecd.conf.d", "/usr/lib/kexecd.conf.d"};
Config loadSystemConfig(const Root& root, std::vector<std::string>* warnings);

// Applies the text of one configuration file on top of `config`. `name` is
// what messages call the file. Throws Error(InvalidArgument)
// "NAME:LINE: why" at the first bad line; nothing else escapes but
// std::bad_alloc.
void parseConfigText(std::string_view text, const std::string& name, Config* config,
                     std::vector<std::string>* warnings);

// "yes"/"no" and the usual synonyms; nullopt when it is neither.
std::optional<bool> parseBool(std::string_view s);

}  // namespace kexecd
