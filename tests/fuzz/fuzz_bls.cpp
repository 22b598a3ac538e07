// Boot Loader Spec entries and GRUB's environment block (grubenv), and the
// $variable expansion of Fedora's "options $kernelopts".
#include <cstdint>
#include <string>

#include "bls.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto entry = kexecd::parseBlsEntry(text);
    auto env = kexecd::parseGrubEnv(text);
    std::vector<std::string> unknown;
    std::string expanded = kexecd::expandGrubVariables(entry.options, env, &unknown);
    // Expansion only substitutes: without variables nothing changes.
    if (entry.options.find('$') == std::string::npos) FUZZ_CHECK(expanded == entry.options);
    (void)kexecd::expandGrubVariables(text, env, nullptr);
    return 0;
}
