// Boot Loader Spec entries, grubenv and EFI variables: the small formats
// around the boot loader.
#include "bls.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "efivars.hpp"

namespace kexecd {
namespace {

using ::testing::ElementsAre;

TEST(Bls, FedoraEntry) {
    auto e = parseBlsEntry(
        "title Fedora Linux (6.11.4-301.fc41.x86_64) 41 (Server Edition)\n"
        "version 6.11.4-301.fc41.x86_64\n"
        "linux /vmlinuz-6.11.4-301.fc41.x86_64\n"
        "initrd /initramfs-6.11.4-301.fc41.x86_64.img\n"
        "options root=UUID=abcd ro\n"
        "options   rhgb quiet  \n"
        "grub_users $grub_users\n"
        "grub_arg --unrestricted\n"
        "grub_class fedora\n"
        "# comment\n"
        "initrd /extra.img\n"
        "architecture x64\n");
    EXPECT_EQ(e.version, "6.11.4-301.fc41.x86_64");
    EXPECT_EQ(e.linux, "/vmlinuz-6.11.4-301.fc41.x86_64");
    EXPECT_THAT(e.initrds, ElementsAre("/initramfs-6.11.4-301.fc41.x86_64.img", "/extra.img"));
    EXPECT_EQ(e.options, "root=UUID=abcd ro rhgb quiet");
    EXPECT_EQ(e.architecture, "x64");
}

TEST(Bls, KerneloptsFromGrubenv) {
    std::string env(
        "# GRUB Environment Block\n"
        "saved_entry=0123-6.11.4-301.fc41.x86_64\n"
        "kernelopts=root=/dev/mapper/rhel-root ro crashkernel=auto\n"
        "boot_success=1\n");
    env.resize(1024, '#');
    auto vars = parseGrubEnv(env);
    EXPECT_EQ(vars["saved_entry"], "0123-6.11.4-301.fc41.x86_64");
    EXPECT_EQ(vars["kernelopts"], "root=/dev/mapper/rhel-root ro crashkernel=auto");
    std::vector<std::string> unknown;
    EXPECT_EQ(expandGrubVariables("$kernelopts ${tuned_params} x$", vars, &unknown),
              "root=/dev/mapper/rhel-root ro crashkernel=auto  x$");
    EXPECT_THAT(unknown, ElementsAre("tuned_params"));
}

TEST(Bls, GrubenvEscapes) {
    auto vars = parseGrubEnv("# GRUB Environment Block\nnext_entry=a\\\\b\\nc\n=bad\nnoeq\n");
    EXPECT_EQ(vars["next_entry"], "a\\b\nc");
    EXPECT_EQ(vars.size(), 1u);
}

TEST(EfiVars, IntegersAndStrings) {
    std::string attrs("\x07\x00\x00\x00", 4);
    EXPECT_EQ(efiVarUint(attrs + std::string("\x03\x00", 2), 2), 3u);
    EXPECT_EQ(efiVarUint(attrs + std::string("\x03\x00\x00", 3), 2), std::nullopt);
    EXPECT_EQ(efiVarUint("\x07", 2), std::nullopt);
    EXPECT_EQ(efiVarUint(attrs + std::string("\x05\0\0\0\0\0\0\x80", 8), 8), 0x8000000000000005ull);
    std::string u16("a\0b\0\xe9\0\x3d\xd8\0\0junk", 12);
    EXPECT_EQ(efiVarString(attrs + u16), "ab\xc3\xa9\xef\xbf\xbd");
}

}  // namespace
}  // namespace kexecd
