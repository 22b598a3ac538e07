#pragma once
// The kernel command line for the staged kernel, derived from the running one.
#include <string>
#include <string_view>
#include <vector>

namespace kexecd {

// The kernel's limit on x86 and arm64 (COMMAND_LINE_SIZE), including the NUL.
constexpr size_t kCmdlineMax = 2048;

// Splits like the kernel does: on whitespace, except inside double quotes
// (root="LABEL=my disk" stays one word, quotes included).
std::vector<std::string> splitCmdline(std::string_view s);

// The name of one parameter ("root" for root=/dev/vda); dashes and
// underscores are the same to the kernel, so both become '_'.
std::string paramName(std::string_view word);

// /proc/cmdline minus what names the previous boot (BOOT_IMAGE=, initrd=),
// minus `remove`, plus `append`.
std::string deriveCmdline(std::string_view procCmdline, const std::vector<std::string>& remove,
                          std::string_view append);

// "+a -b": the words `to` has that `from` lacks, then those it lost, each
// counted (a word given twice is two words).
std::vector<std::string> cmdlineDiff(const std::string& from, const std::string& to);

// Throws Error(InvalidArgument) when the kernel would refuse or truncate it.
void validateCmdline(std::string_view cmdline);

}  // namespace kexecd
