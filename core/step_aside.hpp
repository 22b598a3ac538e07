#pragma once
// When the next boot needs the firmware or the boot loader, a kexec would
// skip what was asked for: a firmware update, a one-shot boot entry, the
// firmware setup screen. These are the signs of it, read under the root.
#include <string>
#include <vector>

#include "fsutil.hpp"

namespace kexecd {

// One sentence per reason the next boot must go through the firmware
// ("EFI BootNext is set (Boot0003)"); empty when a kexec boots what a cold
// reboot would.
std::vector<std::string> firmwareBootReasons(const Root& root);

}  // namespace kexecd
