#pragma once
// Reads the menu out of a grub.cfg as update-grub (grub-mkconfig) writes it:
// menuentries inside submenus, their linux/linux16/linuxefi lines, `set
// default=` and whether entries come from Boot Loader Spec files (blscfg).
// It lexes GRUB's script syntax (quotes, escapes, comments, braces) but runs
// nothing: words holding variables are kept apart, as only GRUB knows them.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kexecd {

struct GrubItem {
    std::string title;
    std::string id;  // --id / $menuentry_id_option, "" when none
    bool submenu = false;
    std::vector<GrubItem> children;  // a submenu's items
    // A menuentry's kernel: the path on the `linux` line as GRUB sees it
    // (relative to GRUB's root, "/boot/vmlinuz-V" or "/vmlinuz-V").
    std::string kernel;
    std::vector<std::string> args;       // what the kernel gets
    std::vector<std::string> variables;  // words with $variables, dropped
    bool recovery = false;               // "(recovery mode)", single, rescue
};

struct GrubConfig {
    std::vector<GrubItem> items;
    // The effective `set default=` (not the grub-reboot one-shot branch):
    // "0", "1>2", a title, an id, "${saved_entry}", or "" when never set.
    std::string defaultEntry;
    bool blscfg = false;  // entries come from /boot/loader/entries
};

GrubConfig parseGrubCfg(std::string_view text);

// Resolves a default such as "0", "1>2", "Advanced options for Debian
// GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-13-amd64" or ids, one level
// per '>' component (index, title or id), as GRUB does. nullptr when it names
// nothing or a submenu.
const GrubItem* findGrubEntry(const GrubConfig& cfg, std::string_view spec);

// Every menuentry, depth first, in menu order.
std::vector<const GrubItem*> grubEntries(const GrubConfig& cfg);

// The kernel version a `linux` path names ("/boot/vmlinuz-6.1.0-13-amd64" ->
// "6.1.0-13-amd64"), or "" for a path not named like a kernel.
std::string grubKernelSuffix(std::string_view kernelPath);

}  // namespace kexecd
