// grub.cfg as update-grub writes it, or as anyone with write access to /boot
// does. Never crashes, never hangs, and what it returns is a tree whose
// entries the default lookup can walk.
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "grub_cfg.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto cfg = kexecd::parseGrubCfg(text);
    auto entries = kexecd::grubEntries(cfg);
    for (auto* e : entries) {
        FUZZ_CHECK(!e->submenu);
        (void)kexecd::grubKernelSuffix(e->kernel);
    }
    // The default as the file says, and every prefix path of a few levels.
    const kexecd::GrubItem* d = kexecd::findGrubEntry(cfg, cfg.defaultEntry);
    FUZZ_CHECK(!d || !d->submenu);
    for (const char* spec : {"0", "1", "0>0", "1>2", "0>0>0"}) {
        d = kexecd::findGrubEntry(cfg, spec);
        FUZZ_CHECK(!d || !d->submenu);
    }
    return 0;
}
