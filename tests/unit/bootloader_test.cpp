// What the boot loader would boot, read from fake roots: GRUB on Debian and
// Ubuntu, Fedora's blscfg with $kernelopts, systemd-boot, /etc/kernel/cmdline;
// the parameters typed at the boot menu; and the signs that the next boot
// needs the firmware.
#include "bootloader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmdline.hpp"
#include "efivars.hpp"
#include "sample_tree.hpp"
#include "step_aside.hpp"
#include "temp_dir.hpp"
#include "test_data.hpp"

namespace kexecd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using test::grubenvBlock;

std::string data(const std::string& name) {
    return test::testData(name);
}

std::string efiVar(const std::string& data) {
    return std::string("\x07\x00\x00\x00", 4) + data;
}

class BootLoaderTest : public ::testing::Test {
  protected:
    BootLoaderTest() : tree_(dir_.path()) {}
    BootLoaderView read() { return readBootLoader(Root(dir_.path())); }
    std::vector<std::string> reasons() { return firmwareBootReasons(Root(dir_.path())); }
    void efi(const std::string& name, std::string_view guid, const std::string& value) {
        tree_.file("/sys/firmware/efi/efivars/" + name + "-" + std::string(guid), efiVar(value));
    }
    test::TempDir dir_;
    fixture::Tree tree_;
};

TEST_F(BootLoaderTest, Debian) {
    tree_.file("/boot/grub/grub.cfg", data("grub-debian12.cfg"));
    auto v = read();
    EXPECT_EQ(v.kind, "grub");
    EXPECT_EQ(v.where, "/boot/grub/grub.cfg");
    EXPECT_EQ(v.defaultSuffix, "6.12.12+deb12-amd64");
    EXPECT_EQ(v.cmdlineFor("6.1.0-13-amd64"), "root=UUID=0a1b2c3d ro console=ttyS0 quiet");
    EXPECT_EQ(v.cmdlineFor("6.0.0-1-amd64"), std::nullopt);
    EXPECT_THAT(v.warnings, IsEmpty());
}

TEST_F(BootLoaderTest, GrubSavedEntryPinsAnOlderKernel) {
    std::string cfg = data("grub-debian12.cfg");
    cfg.replace(cfg.find("set default=\"0\""), 15, "set default=\"${saved_entry}\"");
    tree_.file("/boot/grub/grub.cfg", cfg);
    tree_.file(
        "/boot/grub/grubenv",
        grubenvBlock("saved_entry=gnulinux-advanced-0a1b2c3d>gnulinux-6.1.0-13-amd64-advanced-"
                     "0a1b2c3d\n"));
    auto v = read();
    EXPECT_EQ(v.defaultSuffix, "6.1.0-13-amd64");
    EXPECT_THAT(v.defaultHow, HasSubstr("saved_entry="));
}

TEST_F(BootLoaderTest, UbuntuDropsVtHandoffWithAWarning) {
    tree_.file("/boot/grub/grub.cfg", data("grub-ubuntu.cfg"));
    auto v = read();
    EXPECT_EQ(v.defaultSuffix, "6.8.0-49-generic");  // no saved_entry: the first entry
    EXPECT_EQ(v.cmdlineFor("6.8.0-49-generic"), "root=UUID=1234 ro quiet splash");
    ASSERT_FALSE(v.warnings.empty());
    EXPECT_THAT(v.warnings[0], HasSubstr("dropped $vt_handoff"));
}

TEST_F(BootLoaderTest, DefaultNamingNothingIsAWarning) {
    tree_.file("/boot/grub/grub.cfg", "set default=\"gone\"\n" + data("grub-debian12.cfg"));
    auto v = read();
    EXPECT_EQ(v.defaultSuffix, "6.12.12+deb12-amd64");  // the later set default="0" wins
    tree_.file("/boot/grub/grub.cfg", data("grub-debian12.cfg") + "set default=\"gone\"\n");
    v = read();
    EXPECT_EQ(v.defaultSuffix, "");
    EXPECT_THAT(v.warnings, ElementsAre(HasSubstr("\"gone\" names no menu entry")));
}

TEST_F(BootLoaderTest, FedoraBlscfgWithKernelopts) {
    tree_.file("/boot/grub2/grub.cfg", data("grub-fedora-blscfg.cfg"));
    tree_.file("/boot/grub2/grubenv",
               grubenvBlock("kernelopts=root=/dev/mapper/fedora-root ro rhgb quiet\n"
                            "saved_entry=abc-6.11.4-301.fc41.x86_64\n"));
    for (auto v : {"6.11.4-301.fc41.x86_64", "6.11.10-300.fc41.x86_64"})
        tree_.file("/boot/loader/entries/abc-" + std::string(v) + ".conf",
                   "title Fedora\nversion " + std::string(v) + "\nlinux /vmlinuz-" + v +
                       "\ninitrd /initramfs-" + v + ".img\noptions $kernelopts\n");
    tree_.file("/boot/loader/entries/abc-0-rescue.conf",
               "title rescue\nversion 0-rescue-abc\nlinux /vmlinuz-0-rescue-abc\n"
               "options $kernelopts\n");
    auto v = read();
    EXPECT_EQ(v.kind, "bls");
    EXPECT_EQ(v.where, "/boot/loader/entries");
    EXPECT_EQ(v.cmdlineFor("6.11.10-300.fc41.x86_64"),
              "root=/dev/mapper/fedora-root ro rhgb quiet");
    EXPECT_EQ(v.defaultSuffix, "6.11.4-301.fc41.x86_64");
    ASSERT_EQ(v.entries.size(), 3u);
    EXPECT_EQ(v.entries[0].suffix, "6.11.10-300.fc41.x86_64");  // newest first
}

TEST_F(BootLoaderTest, SystemdBootWithoutGrub) {
    tree_.file("/efi/loader/entries/m-6.12.conf",
               "title Linux\nversion 6.12.0\nlinux /m/6.12.0/linux\noptions root=/dev/vda2 rw\n");
    tree_.file(
        "/efi/loader/entries/m-6.13.conf",
        "title Linux\nversion 6.13.0\nlinux /m/6.13.0/vmlinuz-6.13.0\noptions root=/dev/vda2\n");
    auto v = read();
    EXPECT_EQ(v.kind, "bls");
    EXPECT_EQ(v.cmdlineFor("6.13.0"), "root=/dev/vda2");
    EXPECT_EQ(v.defaultSuffix, "6.13.0");
    tree_.file("/efi/loader/loader.conf", "timeout 3\ndefault m-6.12*\n");
    EXPECT_EQ(read().defaultSuffix, "");  // its linux is not named like a kernel file
}

TEST_F(BootLoaderTest, KernelCmdlineFileAlone) {
    tree_.file("/etc/kernel/cmdline", "root=/dev/vda1  ro\n");
    auto v = read();
    EXPECT_EQ(v.kind, "kernel-cmdline");
    EXPECT_EQ(v.cmdlineFor("anything"), "root=/dev/vda1 ro");
}

TEST_F(BootLoaderTest, NothingFound) {
    auto v = read();
    EXPECT_EQ(v.kind, "");
    EXPECT_EQ(v.cmdlineFor("6.1"), std::nullopt);
}

TEST(HandTyped, AgainstTheEntry) {
    EXPECT_THAT(handTypedParams("BOOT_IMAGE=/boot/vmlinuz-6.1 root=UUID=x ro quiet single "
                                "systemd.unit=rescue.target quiet",
                                std::string("root=UUID=x ro quiet")),
                ElementsAre("single", "systemd.unit=rescue.target", "quiet"));
    EXPECT_THAT(handTypedParams("root=x ro -- single", std::string("root=x ro")), IsEmpty());
}

TEST(HandTyped, BuiltInListWithoutConfiguration) {
    EXPECT_THAT(handTypedParams("root=x ro single rd.break=pre-mount break=top init=/bin/sh 3 S "
                                "systemd.unit=multi-user.target",
                                std::nullopt),
                ElementsAre("single", "rd.break=pre-mount", "break=top", "init=/bin/sh", "S"));
}

TEST(CmdlineWords, DropAndDiff) {
    EXPECT_EQ(dropWords("root=x ro single quiet single -- single", {"single", "quiet"}),
              "root=x ro single -- single");
    EXPECT_THAT(cmdlineDiff("root=x ro quiet", "root=x ro splash"),
                ElementsAre("+splash", "-quiet"));
}

TEST_F(BootLoaderTest, NoReasonsOnAPlainSystem) {
    tree_.file("/boot/grub/grubenv", grubenvBlock("saved_entry=0\n"));
    efi("BootCurrent", kEfiGlobalGuid, std::string("\x01\x00", 2));
    efi("OsIndications", kEfiGlobalGuid, std::string(8, '\0'));
    EXPECT_THAT(reasons(), IsEmpty());
}

TEST_F(BootLoaderTest, EveryFirmwareBootReason) {
    efi("BootNext", kEfiGlobalGuid, std::string("\x03\x00", 2));
    efi("OsIndications", kEfiGlobalGuid, std::string("\x05\0\0\0\0\0\0\0", 8));
    efi("LoaderEntryOneShot", kLoaderGuid, std::string("a\0b\0\0\0", 6));
    efi("fwupd-abc-0", "0abba7dc-e516-4167-bbf5-4d9d1c739416", "x");
    tree_.file("/boot/efi/EFI/UpdateCapsule/fwupd-1.cap", "capsule");
    tree_.file("/boot/grub/grubenv", grubenvBlock("next_entry=1>2\n"));
    tree_.file("/no-kexec-reboot", "");
    EXPECT_THAT(
        reasons(),
        ElementsAre(HasSubstr("BootNext is set (Boot0003)"), HasSubstr("setup screen"),
                    HasSubstr("capsule update from disk"), HasSubstr("one-shot entry \"ab\""),
                    HasSubstr("/boot/efi/EFI/UpdateCapsule"), HasSubstr("fwupd-abc-0"),
                    HasSubstr("next_entry=1>2"), HasSubstr("/no-kexec-reboot")));
}

}  // namespace
}  // namespace kexecd
