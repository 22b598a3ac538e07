// Boot Loader Spec entries and unified kernel images on the ESP and XBOOTLDR,
// in the one list discovery gives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "discovery.hpp"
#include "pe.hpp"
#include "pe_builder.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

const std::string kV = "6.12.12+deb12-amd64";
const std::string kUkiCmdline = "root=UUID=77 ro quiet";

class DiscoveryEspTest : public ::testing::Test {
  protected:
    DiscoveryEspTest() : tree_(dir_.path()) {}

    std::vector<Kernel> scan(DiscoveryOptions opts = {}) { return discovery_.scan(opts); }

    static const Kernel* find(const std::vector<Kernel>& ks, const std::string& image) {
        auto it =
            std::find_if(ks.begin(), ks.end(), [&](const Kernel& k) { return k.image == image; });
        return it == ks.end() ? nullptr : &*it;
    }

    void modules(const std::string& v) { tree_.file("/lib/modules/" + v + "/modules.dep", ""); }

    // A UKI as ukify builds one: .osrel, .cmdline, .uname, .ucode, .initrd, .linux.
    std::string uki(const std::string& v, const std::string& cmdline = kUkiCmdline,
                    const std::string& uname = "") {
        std::vector<std::pair<std::string, std::string>> s = {
            {".osrel", "ID=debian\nVERSION_ID=12\n"}};
        if (!cmdline.empty()) s.push_back({".cmdline", cmdline + "\n"});
        s.push_back({".uname", (uname.empty() ? v : uname) + "\n"});
        s.push_back({".ucode", "UCODE"});
        s.push_back({".initrd", "INITRD-" + v});
        s.push_back({".linux", fixture::bzImage(v)});
        return test::buildPe(s);
    }

    // Where section `name` of `pe` is, as the parser says.
    static ImageSection where(const std::string& pe, const std::string& name,
                              const std::string& file = "") {
        auto parsed = parsePeSections(pe, pe.size());
        const PeSection* s = findSection(parsed.sections, name);
        return s ? ImageSection{s->offset, s->size, file} : ImageSection{};
    }

    test::TempDir dir_;
    fixture::Tree tree_;
    Discovery discovery_{Root(dir_.path())};
};

TEST_F(DiscoveryEspTest, UkiOnTheEsp) {
    std::string pe = uki(kV);
    tree_.file("/efi/EFI/Linux/debian-" + kV + ".efi", pe);
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    const Kernel& k = ks[0];
    EXPECT_EQ(k.source, "uki");
    EXPECT_EQ(k.version, kV);
    EXPECT_EQ(k.image, "/efi/EFI/Linux/debian-" + kV + ".efi");
    EXPECT_EQ(k.entry, k.image);
    EXPECT_THAT(k.initrds, IsEmpty());
    EXPECT_TRUE(k.bootable) << k.reason;
    EXPECT_THAT(k.cmdline, Optional(kUkiCmdline));
    EXPECT_THAT(k.kernelSection, Optional(where(pe, ".linux")));
    // Microcode first, as systemd-stub hands them to the kernel.
    EXPECT_THAT(k.initrdSections, ElementsAre(where(pe, ".ucode"), where(pe, ".initrd")));
    EXPECT_EQ(pe.substr(k.kernelSection->offset, k.kernelSection->size), fixture::bzImage(kV));
}

TEST_F(DiscoveryEspTest, UkiOnXbootldrAndBootEfi) {
    tree_.file("/boot/EFI/Linux/a.efi", uki("6.1.0-13-amd64"));
    tree_.file("/boot/efi/EFI/Linux/b.EFI", uki(kV));
    modules("6.1.0-13-amd64");
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 2u);
    EXPECT_EQ(ks[0].image, "/boot/efi/EFI/Linux/b.EFI");
    EXPECT_EQ(ks[1].image, "/boot/EFI/Linux/a.efi");
}

TEST_F(DiscoveryEspTest, EfiSymlinkedToBootEfiIsReadOnce) {
    tree_.file("/boot/efi/EFI/Linux/a.efi", uki(kV));
    tree_.symlink("/efi", "boot/efi");
    modules(kV);
    EXPECT_EQ(scan().size(), 1u);
}

TEST_F(DiscoveryEspTest, AddOnsExtendTheCmdlineInNameOrder) {
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/20-b.addon.efi",
               test::buildPe({{".cmdline", "second=2"}}));
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/10-a.addon.efi",
               test::buildPe({{".sbat", "x"}, {".cmdline", "first=1\n"}}));
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/notes.txt", "not an add-on");
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_THAT(ks[0].cmdline, Optional(kUkiCmdline + " first=1 second=2"));
}

TEST_F(DiscoveryEspTest, GlobalAddOnsComeBeforeTheUkisOwn) {
    // systemd-stub: the UKI's .cmdline, then loader/addons on its partition,
    // then <uki>.efi.extra.d.
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/00-own.addon.efi",
               test::buildPe({{".cmdline", "own=1"}}));
    tree_.file("/efi/loader/addons/90-global.addon.efi", test::buildPe({{".cmdline", "global=1"}}));
    tree_.file("/boot/loader/addons/other.addon.efi",
               test::buildPe({{".cmdline", "other-partition=1"}}));
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_THAT(ks[0].cmdline, Optional(kUkiCmdline + " global=1 own=1"));
}

TEST_F(DiscoveryEspTest, AddOnForAnotherKernelIsLeftOut) {
    // Both carry .uname and they differ: systemd-stub refuses the add-on.
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    tree_.file("/efi/loader/addons/old.addon.efi",
               test::buildPe({{".uname", "6.1.0-1-amd64"}, {".cmdline", "old=1"}}));
    tree_.file("/efi/loader/addons/same.addon.efi",
               test::buildPe({{".uname", kV}, {".cmdline", "same=1"}}));
    tree_.file("/efi/loader/addons/any.addon.efi", test::buildPe({{".cmdline", "any=1"}}));
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_THAT(ks[0].cmdline, Optional(kUkiCmdline + " any=1 same=1"));
}

TEST_F(DiscoveryEspTest, BrokenGlobalAddOnMakesTheUkiNotBootable) {
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    tree_.file("/efi/loader/addons/bad.addon.efi", "MZ garbage");
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_THAT(ks[0].reason, HasSubstr("add-on /efi/loader/addons/bad.addon.efi"));
}

TEST_F(DiscoveryEspTest, BrokenAddOnMakesTheUkiNotBootable) {
    // systemd-stub would boot without it: a fast reboot with another command
    // line than a cold one is what kexecd must not do.
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/bad.addon.efi", "garbage");
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_THAT(ks[0].reason, HasSubstr("add-on /efi/EFI/Linux/a.efi.extra.d/bad.addon.efi"));
}

TEST_F(DiscoveryEspTest, UkiWithoutCmdlineGetsTheDerivedOne) {
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV, ""));
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/x.addon.efi", test::buildPe({{".cmdline", "x=1"}}));
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_EQ(ks[0].cmdline, std::nullopt);
}

TEST_F(DiscoveryEspTest, MultiProfileUkiUsesTheFirstProfile) {
    tree_.file("/efi/EFI/Linux/a.efi", test::buildPe({{".uname", kV},
                                                      {".cmdline", "base"},
                                                      {".linux", fixture::bzImage(kV)},
                                                      {".initrd", "INITRD"},
                                                      {".profile", "ID=default"},
                                                      {".cmdline", "profile0"},
                                                      {".profile", "ID=rescue"},
                                                      {".cmdline", "rescue"}}));
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_THAT(ks[0].cmdline, Optional(std::string("profile0")));
}

TEST_F(DiscoveryEspTest, BadUkisAreListedWithTheirReason) {
    tree_.file("/efi/EFI/Linux/garbage.efi", "MZ but nothing else");
    tree_.file("/efi/EFI/Linux/nolinux.efi", test::buildPe({{".cmdline", "x"}, {".uname", kV}}));
    tree_.file("/efi/EFI/Linux/mismatch.efi", uki(kV, kUkiCmdline, "6.99.0-amd64"));
    tree_.file("/efi/EFI/Linux/badcmdline.efi", uki(kV, "root=/dev/sda\x1b[2J"));
    tree_.file("/efi/EFI/Linux/noinitrd.efi",
               test::buildPe({{".uname", kV}, {".linux", fixture::bzImage(kV)}}));
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 5u);
    for (auto& k : ks) EXPECT_FALSE(k.bootable) << k.image;
    EXPECT_THAT(find(ks, "/efi/EFI/Linux/garbage.efi")->reason,
                HasSubstr("not a unified kernel image"));
    EXPECT_EQ(find(ks, "/efi/EFI/Linux/garbage.efi")->version, "garbage");
    EXPECT_THAT(find(ks, "/efi/EFI/Linux/nolinux.efi")->reason, HasSubstr("no .linux section"));
    EXPECT_THAT(find(ks, "/efi/EFI/Linux/mismatch.efi")->reason,
                HasSubstr("version mismatch: .uname says 6.99.0-amd64, the kernel says " + kV));
    EXPECT_THAT(find(ks, "/efi/EFI/Linux/badcmdline.efi")->reason,
                HasSubstr(".cmdline section is not valid UTF-8 or has control characters"));
    EXPECT_EQ(find(ks, "/efi/EFI/Linux/noinitrd.efi")->reason, "no initrd");

    DiscoveryOptions lax;
    lax.requireInitrd = false;
    EXPECT_TRUE(find(scan(lax), "/efi/EFI/Linux/noinitrd.efi")->bootable);
}

TEST_F(DiscoveryEspTest, UkiNeedsModulesLikeAnyKernel) {
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].reason, "no modules directory");
}

TEST_F(DiscoveryEspTest, SameVersionUkiComesBeforeTheBootFile) {
    tree_.debianKernel(kV);
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    auto ks = scan();
    ASSERT_EQ(ks.size(), 2u);
    EXPECT_EQ(ks[0].source, "uki");
    EXPECT_EQ(ks[1].source, "boot");
    EXPECT_EQ(newestBootable(ks), &ks[0]);
}

TEST_F(DiscoveryEspTest, UkiIsReadAgainOnlyWhenItChanges) {
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    modules(kV);
    EXPECT_THAT(scan()[0].cmdline, Optional(kUkiCmdline));
    // A new file (kernel-install writes a new one and renames it).
    tree_.file("/efi/EFI/Linux/a.efi.new", uki(kV, "root=/dev/new"));
    std::filesystem::rename(tree_.path("/efi/EFI/Linux/a.efi.new"),
                            tree_.path("/efi/EFI/Linux/a.efi"));
    EXPECT_THAT(scan()[0].cmdline, Optional(std::string("root=/dev/new")));
}

// --- Boot Loader Spec Type #1 ---------------------------------------------

TEST_F(DiscoveryEspTest, BlsEntryInKernelInstallLayout) {
    const std::string mid = "0123456789abcdef0123456789abcdef";
    tree_.file("/efi/" + mid + "/" + kV + "/linux", fixture::bzImage(kV));
    tree_.file("/efi/" + mid + "/" + kV + "/initrd", "INITRD");
    tree_.file("/efi/" + mid + "/" + kV + "/extra", "EXTRA");
    tree_.file("/efi/loader/entries/" + mid + "-" + kV + ".conf",
               "title Debian\nversion " + kV + "\nmachine-id " + mid + "\nlinux /" + mid + "/" +
                   kV + "/linux\ninitrd /" + mid + "/" + kV + "/initrd\ninitrd /" + mid + "/" + kV +
                   "/extra\noptions root=UUID=1 ro\noptions quiet\n");
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    const Kernel& k = ks[0];
    EXPECT_EQ(k.source, "bls");
    EXPECT_EQ(k.entry, "/efi/loader/entries/" + mid + "-" + kV + ".conf");
    EXPECT_EQ(k.image, "/efi/" + mid + "/" + kV + "/linux");
    EXPECT_THAT(k.initrds, ElementsAre("/efi/" + mid + "/" + kV + "/initrd",
                                       "/efi/" + mid + "/" + kV + "/extra"));
    EXPECT_EQ(k.version, kV);
    EXPECT_THAT(k.cmdline, Optional(std::string("root=UUID=1 ro quiet")));
    EXPECT_TRUE(k.bootable) << k.reason;
    EXPECT_EQ(k.kernelSection, std::nullopt);
}

TEST_F(DiscoveryEspTest, FedoraEntriesNamingBootFilesAreOneKernel) {
    tree_.fedoraKernel(kV);
    tree_.file("/boot/loader/entries/abc-" + kV + ".conf",
               "title Fedora\nversion " + kV + "\nlinux /vmlinuz-" + kV + "\ninitrd /initramfs-" +
                   kV + ".img\noptions $kernelopts\n");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].source, "boot");
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-" + kV);
}

TEST_F(DiscoveryEspTest, BlsEntriesThatCannotBeStaged) {
    tree_.file("/efi/v/linux", fixture::bzImage(kV));
    tree_.file("/efi/v/initrd", "I");
    modules(kV);
    tree_.file("/efi/loader/entries/escape.conf", "linux /../../etc/passwd\n");
    tree_.file("/efi/loader/entries/missing.conf", "version 7.0\nlinux /nope\ninitrd /v/initrd\n");
    tree_.file("/efi/loader/entries/other.conf",
               "version " + kV + "\nlinux /v/linux\ninitrd /v/initrd\ninitrd /gone\n");
    tree_.file("/efi/w/linux", fixture::bzImage(kV));
    tree_.file("/efi/loader/entries/wrongver.conf",
               "version 6.99\nlinux /w/linux\ninitrd /v/initrd\n");
    // Not Linux, or another architecture's: not kernels for this machine.
    tree_.file("/efi/loader/entries/shell.conf", "title Shell\nefi /shell.efi\n");
    tree_.file("/efi/loader/entries/arm.conf", "architecture aa64\nlinux /v/linux\n");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 4u);
    for (auto& k : ks) EXPECT_FALSE(k.bootable) << k.entry;
    auto byEntry = [&](const std::string& e) {
        return std::find_if(ks.begin(), ks.end(), [&](auto& k) { return k.entry == e; })->reason;
    };
    EXPECT_EQ(byEntry("/efi/loader/entries/escape.conf"), "its linux path leaves the partition");
    EXPECT_EQ(byEntry("/efi/loader/entries/missing.conf"), "its kernel /efi/nope is missing");
    EXPECT_EQ(byEntry("/efi/loader/entries/other.conf"), "initrd /efi/gone is missing");
    EXPECT_EQ(byEntry("/efi/loader/entries/wrongver.conf"),
              "version mismatch: the entry says 6.99, the image says " + kV);
}

TEST_F(DiscoveryEspTest, BlsOptionsWithGrubVariablesAreDerived) {
    tree_.file("/efi/v/linux", fixture::bzImage(kV));
    tree_.file("/efi/v/initrd", "I");
    tree_.file("/efi/loader/entries/a.conf",
               "linux /v/linux\ninitrd /v/initrd\noptions $kernelopts\n");
    tree_.file("/efi/loader/entries/b.conf", "linux /v/linux\ninitrd /v/initrd\n");
    modules(kV);
    auto ks = scan();
    // Both name the same file: the first entry (by name) lists it.
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].entry, "/efi/loader/entries/a.conf");
    EXPECT_EQ(ks[0].cmdline, std::nullopt);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
}

TEST_F(DiscoveryEspTest, WatchesTheNearestParentOfWhatIsMissing) {
    // /boot only (the tree's own), nothing of the ESP's layout yet: /boot
    // itself, whose new loader/ or EFI/ the watch must see.
    std::filesystem::create_directories(tree_.path("/boot"));
    EXPECT_THAT(entryWatchDirs(Root(dir_.path())), ElementsAre("/boot"));
}

TEST_F(DiscoveryEspTest, WatchesEntryAddOnAndUkiDirectories) {
    tree_.file("/efi/loader/loader.conf", "timeout 3\n");
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/x.addon.efi", test::buildPe({{".cmdline", "x"}}));
    tree_.file("/efi/EFI/Linux/b.efi", uki(kV));  // no add-on directory
    tree_.file("/boot/loader/entries/e.conf", "linux /vmlinuz\n");
    tree_.file("/boot/loader/addons/g.addon.efi", test::buildPe({{".cmdline", "g"}}));
    EXPECT_THAT(
        entryWatchDirs(Root(dir_.path())),
        ElementsAre("/efi/loader", "/efi/EFI/Linux", "/efi/EFI/Linux/a.efi.extra.d",
                    "/boot/loader/entries", "/boot/loader/addons", "/boot/loader", "/boot"));
}

TEST_F(DiscoveryEspTest, AddOnMicrocodeAndInitrdsInTheStubsOrder) {
    // systemd-stub: add-on microcode (global, then the UKI's own), the UKI's
    // .ucode and .initrd, then add-on initrds in the same order.
    std::string pe = uki(kV);
    tree_.file("/efi/EFI/Linux/a.efi", pe);
    std::string global = test::buildPe({{".ucode", "G-UC"}, {".initrd", "G-INITRD"}});
    std::string own = test::buildPe({{".cmdline", "own=1"}, {".ucode", "O-UC"}});
    std::string late = test::buildPe({{".initrd", "L-INITRD"}});
    tree_.file("/efi/loader/addons/g.addon.efi", global);
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/10-own.addon.efi", own);
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/20-late.addon.efi", late);
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_THAT(ks[0].cmdline, Optional(kUkiCmdline + " own=1"));
    const std::string g = "/efi/loader/addons/g.addon.efi";
    const std::string o = "/efi/EFI/Linux/a.efi.extra.d/10-own.addon.efi";
    const std::string l = "/efi/EFI/Linux/a.efi.extra.d/20-late.addon.efi";
    EXPECT_THAT(
        ks[0].initrdSections,
        ElementsAre(where(global, ".ucode", g), where(own, ".ucode", o), where(pe, ".ucode"),
                    where(pe, ".initrd"), where(global, ".initrd", g), where(late, ".initrd", l)));
}

TEST_F(DiscoveryEspTest, AddOnThatIsAUkiIsIgnored) {
    tree_.file("/efi/EFI/Linux/a.efi", uki(kV));
    tree_.file("/efi/EFI/Linux/a.efi.extra.d/x.addon.efi", uki(kV, "other=1"));
    modules(kV);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_THAT(ks[0].cmdline, Optional(kUkiCmdline));
    EXPECT_EQ(ks[0].initrdSections.size(), 2u);
}

TEST_F(DiscoveryEspTest, WhatOnlySystemdStubPassesLeavesTheUkiToTheFirmware) {
    // Credentials and extensions reach the kernel in initrds systemd-stub
    // builds at boot; a fast reboot without them would boot another system.
    for (const std::string f :
         {"/efi/EFI/Linux/a.efi.extra.d/pw.cred", "/efi/EFI/Linux/a.efi.extra.d/tools.raw",
          "/efi/loader/credentials/site.cred", "/efi/loader/extensions/debug.raw"}) {
        SCOPED_TRACE(f);
        test::TempDir dir;
        fixture::Tree tree(dir.path());
        tree.file("/efi/EFI/Linux/a.efi", uki(kV));
        tree.file("/lib/modules/" + kV + "/modules.dep", "");
        tree.file(f, "x");
        auto ks = Discovery(Root(dir.path())).scan({});
        ASSERT_EQ(ks.size(), 1u);
        EXPECT_FALSE(ks[0].bootable);
        EXPECT_THAT(ks[0].reason, HasSubstr("systemd-stub would pass " + f));
    }
}

}  // namespace
}  // namespace kexecd
