#pragma once
// `kexecctl check`: a pre-flight report, like `bootctl status` for kexec.
// Each item says whether a fast reboot works here and boots what a cold
// reboot would, and if not, why.
#include <cstdint>
#include <string>
#include <vector>

#include "bootloader.hpp"
#include "config.hpp"
#include "fsutil.hpp"

namespace kexecd {

struct Status;

struct CheckItem {
    std::string name;
    std::string verdict;  // "ok", "warn" or "fail"
    std::string text;     // one sentence
};

struct CheckInput {
    const Status* status = nullptr;
    const BootLoaderView* bootLoader = nullptr;
    const Config* config = nullptr;
    uint64_t stagedBytes = 0;     // what the staged kernel and initrds hold
    unsigned systemdVersion = 0;  // 0: unknown
};

std::vector<CheckItem> runChecks(const Root& root, const CheckInput& in);

// Parses the leading number of systemd's version string ("252.39-1~deb12u1").
unsigned parseSystemdVersion(const std::string& s);

}  // namespace kexecd
