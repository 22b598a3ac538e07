// The kernel command line: /proc/cmdline, CmdlineAppend= and CmdlineRemove=
// from the configuration, and a command line given over D-Bus. The input is
// taken whole (a command line from a caller), then split at newlines into
// /proc/cmdline, the words to append and the names to remove, one a line.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cmdline.hpp"
#include "error.hpp"
#include "fuzz_check.hpp"

namespace {

void validate(std::string_view cmdline) {
    try {
        kexecd::validateCmdline(cmdline);
    } catch (const kexecd::Error& e) {
        FUZZ_CHECK(e.code() == kexecd::ErrorCode::InvalidArgument);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    for (auto& word : kexecd::splitCmdline(input)) {
        FUZZ_CHECK(!word.empty());
        std::string name = kexecd::paramName(word);
        FUZZ_CHECK(name.find_first_of("\"=-") == std::string::npos);
    }
    validate(input);

    std::vector<std::string> lines;
    for (size_t pos = 0; pos <= input.size();) {
        size_t nl = input.find('\n', pos);
        if (nl == std::string_view::npos) nl = input.size();
        lines.emplace_back(input.substr(pos, nl - pos));
        pos = nl + 1;
    }
    std::string proc = lines[0];
    std::string append = lines.size() > 1 ? lines[1] : "";
    std::vector<std::string> remove(lines.begin() + std::min<size_t>(lines.size(), 2), lines.end());
    std::string derived = kexecd::deriveCmdline(proc, remove, append);
    validate(derived);
    // What names the previous boot never reaches the next one, unless
    // appended on purpose.
    if (append.empty()) {
        for (auto& word : kexecd::splitCmdline(derived)) {
            if (word == "--") break;
            std::string name = kexecd::paramName(word);
            FUZZ_CHECK(name != "BOOT_IMAGE" && name != "initrd");
        }
    }
    return 0;
}
