#pragma once
// Boot Loader Spec Type #1 entries (loader/entries/*.conf) and GRUB's
// environment block (grubenv): two small key-value formats the boot loader
// reads, parsed here without touching the file system.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kexecd {

struct BlsEntry {
    std::string title;
    std::string version;
    std::string machineId;
    std::string sortKey;
    std::string linux;                 // path relative to the partition holding the entry
    std::vector<std::string> initrds;  // in order
    std::string options;               // every `options` line, joined with spaces
    std::string architecture;
};

// One entry file: "key value" lines, '#' comments; unknown keys ignored.
BlsEntry parseBlsEntry(std::string_view text);

// GRUB's environment block: "# GRUB Environment Block", then name=value lines,
// padded with '#' to 1024 bytes. Values may escape '\\' and newlines.
std::map<std::string, std::string> parseGrubEnv(std::string_view text);

// Expands $name and ${name} from `vars` (Fedora's "options $kernelopts");
// unknown variables expand to nothing and are listed in `unknown`.
std::string expandGrubVariables(std::string_view s, const std::map<std::string, std::string>& vars,
                                std::vector<std::string>* unknown);

}  // namespace kexecd
