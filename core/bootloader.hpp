#pragma once
// What the boot loader would boot: its configured entries (GRUB's grub.cfg,
// Boot Loader Spec entries, or /etc/kernel/cmdline), its default kernel and
// the command line it gives each kernel. All of it read under the root, so
// that a cold reboot and a fast one can be compared.
#include <optional>
#include <string>
#include <vector>

#include "fsutil.hpp"

namespace kexecd {

struct BootEntryConfig {
    std::string title;
    std::string suffix;  // the kernel file's name after "vmlinuz-" (a version or Arch pkgbase)
    std::vector<std::string> args;  // the kernel command line, word by word
    bool recovery = false;
};

struct BootLoaderView {
    // "grub" (menuentries in grub.cfg), "bls" (loader/entries, also GRUB's
    // blscfg), "kernel-cmdline" (/etc/kernel/cmdline only) or "" (nothing found).
    std::string kind;
    std::string where;                     // the file or directory read, as the system sees it
    std::vector<BootEntryConfig> entries;  // in the boot loader's menu order
    // /etc/kernel/cmdline when it is what the boot loader uses (kind
    // "kernel-cmdline"), for every kernel.
    std::optional<std::string> commonCmdline;
    // The default kernel's suffix ("" when unknown) and how it was found
    // ("GRUB's default (saved_entry=...)").
    std::string defaultSuffix;
    std::string defaultHow;
    std::vector<std::string> warnings;  // variables dropped, defaults that name nothing

    // The command line the boot loader gives the kernel whose file is
    // vmlinuz-<suffix>: its normal entry, not a recovery one.
    std::optional<std::string> cmdlineFor(const std::string& suffix) const;
    // A short name for messages: "GRUB", "the Boot Loader Spec entries", ...
    std::string name() const;
};

BootLoaderView readBootLoader(const Root& root);

// Parameters the running kernel has that its boot loader entry does not give
// it: typed at the boot menu (multiset difference of words). With no entry
// (`configured` nullopt), the well-known one-shot parameters instead.
// BOOT_IMAGE= and initrd= are never listed (the loader adds them).
std::vector<std::string> handTypedParams(const std::string& running,
                                         const std::optional<std::string>& configured);

// Words of `cmdline` less those in `drop` (each removed once), kernel words
// only: what follows "--" is init's and kept.
std::string dropWords(const std::string& cmdline, const std::vector<std::string>& drop);

}  // namespace kexecd
