// grub.cfg as update-grub writes it on Debian and Ubuntu, and Fedora's
// blscfg stub; GRUB's script syntax where menus use it.
#include "grub_cfg.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_data.hpp"

namespace kexecd {
namespace {

using ::testing::ElementsAre;

std::string data(const std::string& name) {
    return test::testData(name);
}

TEST(GrubCfg, Debian12MenuWithSubmenuAndRecovery) {
    auto cfg = parseGrubCfg(data("grub-debian12.cfg"));
    EXPECT_FALSE(cfg.blscfg);
    EXPECT_EQ(cfg.defaultEntry, "0");  // not the next_entry branch
    ASSERT_EQ(cfg.items.size(), 2u);
    EXPECT_EQ(cfg.items[0].title, "Debian GNU/Linux");
    EXPECT_EQ(cfg.items[0].id, "gnulinux-simple-0a1b2c3d");
    EXPECT_EQ(cfg.items[0].kernel, "/boot/vmlinuz-6.12.12+deb12-amd64");
    EXPECT_THAT(cfg.items[0].args,
                ElementsAre("root=UUID=0a1b2c3d", "ro", "console=ttyS0", "quiet"));
    EXPECT_TRUE(cfg.items[1].submenu);
    ASSERT_EQ(cfg.items[1].children.size(), 4u);
    EXPECT_FALSE(cfg.items[1].children[0].recovery);
    EXPECT_TRUE(cfg.items[1].children[1].recovery);
    EXPECT_EQ(grubEntries(cfg).size(), 5u);
}

TEST(GrubCfg, DefaultsByIndexTitleIdAndPath) {
    auto cfg = parseGrubCfg(data("grub-debian12.cfg"));
    auto kernelOf = [&](const char* spec) {
        const GrubItem* e = findGrubEntry(cfg, spec);
        return e ? e->kernel : std::string("(none)");
    };
    EXPECT_EQ(kernelOf("0"), "/boot/vmlinuz-6.12.12+deb12-amd64");
    EXPECT_EQ(kernelOf("1>2"), "/boot/vmlinuz-6.1.0-13-amd64");
    EXPECT_EQ(kernelOf("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux "
                       "6.1.0-13-amd64"),
              "/boot/vmlinuz-6.1.0-13-amd64");
    EXPECT_EQ(kernelOf("gnulinux-advanced-0a1b2c3d>gnulinux-6.1.0-13-amd64-advanced-0a1b2c3d"),
              "/boot/vmlinuz-6.1.0-13-amd64");
    EXPECT_EQ(kernelOf("1"), "(none)");  // a submenu boots nothing by itself
    EXPECT_EQ(kernelOf("7"), "(none)");
    EXPECT_EQ(kernelOf("1>99999999999999999999"), "(none)");
    EXPECT_EQ(kernelOf("no such entry"), "(none)");
}

TEST(GrubCfg, UbuntuVariablesAreKeptApartAndQuotesHandled) {
    auto cfg = parseGrubCfg(data("grub-ubuntu.cfg"));
    EXPECT_EQ(cfg.defaultEntry, "${saved_entry}");
    auto entries = grubEntries(cfg);
    ASSERT_EQ(entries.size(), 5u);
    EXPECT_EQ(entries[0]->kernel, "/vmlinuz-6.8.0-49-generic");
    EXPECT_THAT(entries[0]->args, ElementsAre("root=UUID=1234", "ro", "quiet", "splash"));
    EXPECT_THAT(entries[0]->variables, ElementsAre("$vt_handoff"));
    EXPECT_THAT(entries[2]->args,
                ElementsAre("root=UUID=1234", "ro", "quiet", "splash", "label=\"my disk\""));
    EXPECT_TRUE(entries[3]->recovery);
    EXPECT_EQ(entries[4]->kernel, "");  // firmware settings
}

TEST(GrubCfg, FedoraBlscfg) {
    auto cfg = parseGrubCfg(data("grub-fedora-blscfg.cfg"));
    EXPECT_TRUE(cfg.blscfg);
    EXPECT_TRUE(cfg.items.empty());
}

TEST(GrubCfg, LexerDetails) {
    auto cfg = parseGrubCfg(
        "set default=2 # comment\n"
        "menuentry \"A \\\"quoted\\\" title\" --id=a { linux16 /vmlinuz-1.0 a=b\\ c 'x y' "
        "#tail\n}\n"
        "menuentry 'B' {\n  linuxefi /boot/vmlinuz-2.0 \\\n    root=/dev/sda;  initrd x\n}\n"
        "menuentry 'C' {\n  linux /boot/vmlinuz-3.0 quiet\n  linux /boot/vmlinuz-3.1 ro\n}\n");
    EXPECT_EQ(cfg.defaultEntry, "2");
    ASSERT_EQ(cfg.items.size(), 3u);
    EXPECT_EQ(cfg.items[0].title, "A \"quoted\" title");
    EXPECT_EQ(cfg.items[0].id, "a");
    EXPECT_THAT(cfg.items[0].args, ElementsAre("a=\"b c\"", "\"x y\""));
    EXPECT_THAT(cfg.items[1].args, ElementsAre("root=/dev/sda"));
    EXPECT_EQ(cfg.items[2].kernel, "/boot/vmlinuz-3.1");  // the last linux line wins
}

TEST(GrubCfg, MalformedInputNeverBreaksTheParser) {
    for (const char* s : {"}", "}}}{{{", "menuentry", "menuentry 'a' {", "submenu {\n menuentry {",
                          "menuentry 'x' { menuentry 'y' { linux /vmlinuz-1 } }", "'unterminated",
                          "\"unterminated \\", "linux /vmlinuz-1 outside",
                          "set default=", "set default=\"${next_entry}\""}) {
        auto cfg = parseGrubCfg(s);
        (void)findGrubEntry(cfg, "0>0>0");
        (void)grubEntries(cfg);
    }
}

TEST(GrubCfg, KernelSuffix) {
    EXPECT_EQ(grubKernelSuffix("/boot/vmlinuz-6.1.0-13-amd64"), "6.1.0-13-amd64");
    EXPECT_EQ(grubKernelSuffix("/vmlinuz-linux-lts"), "linux-lts");
    EXPECT_EQ(grubKernelSuffix("(hd0,gpt2)/vmlinuz-6.1"), "6.1");
    EXPECT_EQ(grubKernelSuffix("/boot/vmlinuz"), "");
    EXPECT_EQ(grubKernelSuffix("/EFI/memtest.efi"), "");
}

}  // namespace
}  // namespace kexecd
