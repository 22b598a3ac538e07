#include "discovery.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class DiscoveryTest : public ::testing::Test {
  protected:
    DiscoveryTest() : tree_(dir_.path()) {}

    std::vector<Kernel> scan(DiscoveryOptions opts = {}) {
        Discovery d{Root(dir_.path())};
        return d.scan(opts);
    }

    static const Kernel* find(const std::vector<Kernel>& ks, const std::string& image) {
        auto it =
            std::find_if(ks.begin(), ks.end(), [&](const Kernel& k) { return k.image == image; });
        return it == ks.end() ? nullptr : &*it;
    }

    static std::vector<std::string> images(const std::vector<Kernel>& ks) {
        std::vector<std::string> out;
        for (auto& k : ks) out.push_back(k.image);
        return out;
    }

    test::TempDir dir_;
    fixture::Tree tree_;
};

TEST_F(DiscoveryTest, EmptyBoot) {
    EXPECT_THAT(scan(), IsEmpty());
}

TEST_F(DiscoveryTest, MissingBoot) {
    std::filesystem::remove_all(dir_ / "boot");
    EXPECT_THAT(scan(), IsEmpty());
}

TEST_F(DiscoveryTest, DebianLayout) {
    tree_.debianKernel("6.1.0-13-amd64");
    tree_.symlink("/boot/vmlinuz", "vmlinuz-6.1.0-13-amd64");
    tree_.symlink("/boot/initrd.img", "initrd.img-6.1.0-13-amd64");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].version, "6.1.0-13-amd64");
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-6.1.0-13-amd64");
    EXPECT_THAT(ks[0].initrds, ElementsAre("/boot/initrd.img-6.1.0-13-amd64"));
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_EQ(ks[0].reason, "");
}

TEST_F(DiscoveryTest, FedoraLayout) {
    tree_.fedoraKernel("6.11.4-301.fc41.x86_64");
    tree_.fedoraKernel("6.11.10-300.fc41.x86_64");
    // Rescue entry and its initramfs, and the FIPS checksum files.
    tree_.file("/boot/vmlinuz-0-rescue-0123456789abcdef0123456789abcdef",
               fixture::bzImage("6.11.4-301.fc41.x86_64"));
    tree_.file("/boot/initramfs-0-rescue-0123456789abcdef0123456789abcdef.img", "rescue\n");
    tree_.file("/boot/.vmlinuz-6.11.10-300.fc41.x86_64.hmac", "abc  vmlinuz\n");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 2u);
    EXPECT_EQ(ks[0].version, "6.11.10-300.fc41.x86_64");
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-6.11.10-300.fc41.x86_64");
    EXPECT_THAT(ks[0].initrds, ElementsAre("/boot/initramfs-6.11.10-300.fc41.x86_64.img"));
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_EQ(ks[1].version, "6.11.4-301.fc41.x86_64");
    EXPECT_TRUE(ks[1].bootable) << ks[1].reason;
}

TEST_F(DiscoveryTest, OpenSuseLayout) {
    tree_.suseKernel("6.4.0-150600.23.7-default");
    tree_.suseKernel("6.4.0-150600.23.25-default");
    tree_.symlink("/boot/vmlinuz", "vmlinuz-6.4.0-150600.23.25-default");
    tree_.symlink("/boot/initrd", "initrd-6.4.0-150600.23.25-default");
    tree_.file("/boot/vmlinux-6.4.0-150600.23.25-default.gz", "not a candidate");
    tree_.file("/boot/.vmlinuz-6.4.0-150600.23.25-default.hmac", "x");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 2u);
    EXPECT_EQ(ks[0].version, "6.4.0-150600.23.25-default");
    EXPECT_THAT(ks[0].initrds, ElementsAre("/boot/initrd-6.4.0-150600.23.25-default"));
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_EQ(ks[1].version, "6.4.0-150600.23.7-default");
    EXPECT_TRUE(ks[1].bootable) << ks[1].reason;
}

TEST_F(DiscoveryTest, ArchLayoutVersionFromImageAndMicrocodeFirst) {
    tree_.archKernel("linux", "6.12.7-arch1-1");
    tree_.archKernel("linux-lts", "6.6.68-1-lts");
    tree_.file("/boot/intel-ucode.img", "intel microcode");
    tree_.file("/boot/amd-ucode.img", "amd microcode");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 2u);

    EXPECT_EQ(ks[0].version, "6.12.7-arch1-1");
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-linux");
    EXPECT_THAT(ks[0].initrds, ElementsAre("/boot/intel-ucode.img", "/boot/amd-ucode.img",
                                           "/boot/initramfs-linux.img"));
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;

    EXPECT_EQ(ks[1].version, "6.6.68-1-lts");
    EXPECT_EQ(ks[1].image, "/boot/vmlinuz-linux-lts");
    EXPECT_THAT(ks[1].initrds, ElementsAre("/boot/intel-ucode.img", "/boot/amd-ucode.img",
                                           "/boot/initramfs-linux-lts.img"));
    EXPECT_TRUE(ks[1].bootable) << ks[1].reason;

    for (auto& k : ks)
        for (auto& i : k.initrds) EXPECT_THAT(i, ::testing::Not(HasSubstr("fallback")));
}

TEST_F(DiscoveryTest, ArchFallbackInitramfsIsNeverUsed) {
    tree_.archKernel("linux", "6.12.7-arch1-1");
    std::filesystem::remove(tree_.path("/boot/initramfs-linux.img"));
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_THAT(ks[0].initrds, IsEmpty());
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_EQ(ks[0].reason, "no initrd");
}

TEST_F(DiscoveryTest, OnlyOneMicrocodeAndEmptyMicrocodeIgnored) {
    tree_.archKernel("linux", "6.12.7-arch1-1");
    tree_.file("/boot/amd-ucode.img", "amd microcode");
    tree_.file("/boot/intel-ucode.img", "");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_THAT(ks[0].initrds, ElementsAre("/boot/amd-ucode.img", "/boot/initramfs-linux.img"));
}

TEST_F(DiscoveryTest, SkipsRescueBackupsPackageTempsChecksumsAndHiddenFiles) {
    tree_.debianKernel("6.1.0-13-amd64");
    const std::string img = fixture::bzImage("6.1.0-13-amd64");
    for (const char* name :
         {"vmlinuz-0-rescue-0123456789abcdef", "vmlinuz-6.1.0-13-amd64.old",
          "vmlinuz-6.1.0-13-amd64.bak", "vmlinuz-6.1.0-13-amd64.dpkg-tmp",
          "vmlinuz-6.1.0-13-amd64.dpkg-new", "vmlinuz-6.1.0-13-amd64.dpkg-bak",
          "vmlinuz-6.1.0-13-amd64.hmac", ".vmlinuz-6.1.0-13-amd64.hmac", ".vmlinuz-6.1.0-13-amd64",
          "vmlinuz-6.1.0-13-amd64~", "vmlinuz-6.1.0-13-amd64.rpmnew", "vmlinuz.old", "vmlinuz"})
        tree_.file(std::string("/boot/") + name, img);
    auto ks = scan();
    EXPECT_THAT(images(ks), ElementsAre("/boot/vmlinuz-6.1.0-13-amd64"));
}

TEST(IsCandidateImageName, Names) {
    for (const char* ok : {"vmlinuz-6.1.0-13-amd64", "vmlinuz-linux", "vmlinuz-linux-lts",
                           "Image-6.1.0-13-arm64", "vmlinuz-6.11.10-300.fc41.x86_64"})
        EXPECT_TRUE(isCandidateImageName(ok)) << ok;
    for (const char* no :
         {"", "vmlinuz", "vmlinuz-", "Image", "initrd.img-6.1.0-13-amd64", "config-6.1.0-13-amd64",
          "System.map-6.1.0-13-amd64", "vmlinuz-0-rescue-abc", ".vmlinuz-6.1.hmac", ".vmlinuz-6.1",
          "vmlinuz-6.1.old", "vmlinuz-6.1.bak", "vmlinuz-6.1.dpkg-tmp", "vmlinuz-6.1.dpkg-dist",
          "vmlinuz-6.1.hmac", "vmlinuz-6.1.sig", "vmlinuz-6.1~", "vmlinuz-6.1.rpmsave"})
        EXPECT_FALSE(isCandidateImageName(no)) << no;
}

TEST_F(DiscoveryTest, SymlinkToAListedImageCountedOnceUnderItsRealName) {
    tree_.debianKernel("6.1.0-13-amd64");
    // "vmlinuz-6.1" sorts before the real name, so only the symlink check
    // can keep the real one.
    tree_.symlink("/boot/vmlinuz-6.1", "vmlinuz-6.1.0-13-amd64");
    tree_.symlink("/boot/vmlinuz-stable", "vmlinuz-6.1.0-13-amd64");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-6.1.0-13-amd64");
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
}

TEST_F(DiscoveryTest, SymlinkToAnUnlistedImageIsListed) {
    tree_.file("/boot/kernels/real-6.1.0-13-amd64", fixture::bzImage("6.1.0-13-amd64"));
    tree_.symlink("/boot/vmlinuz-6.1.0-13-amd64", "kernels/real-6.1.0-13-amd64");
    tree_.file("/boot/initrd.img-6.1.0-13-amd64", "initrd");
    std::filesystem::create_directories(tree_.path("/lib/modules/6.1.0-13-amd64"));
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-6.1.0-13-amd64");
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
}

TEST_F(DiscoveryTest, VersionMismatchIsListedButNotBootable) {
    tree_.file("/boot/vmlinuz-6.1.0-13-amd64", fixture::bzImage("6.1.0-12-amd64"));
    tree_.file("/boot/initrd.img-6.1.0-13-amd64", "initrd");
    std::filesystem::create_directories(tree_.path("/lib/modules/6.1.0-13-amd64"));
    std::filesystem::create_directories(tree_.path("/lib/modules/6.1.0-12-amd64"));
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-6.1.0-13-amd64");
    EXPECT_EQ(ks[0].version, "6.1.0-12-amd64");  // what the image would boot
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_THAT(ks[0].reason, HasSubstr("version mismatch"));
    EXPECT_THAT(ks[0].reason, HasSubstr("6.1.0-13-amd64"));
    EXPECT_THAT(ks[0].reason, HasSubstr("6.1.0-12-amd64"));
}

TEST_F(DiscoveryTest, UnreadableImageIsListedWithTheReason) {
    tree_.file("/boot/vmlinuz-6.1.0-13-amd64", "garbage");
    tree_.file("/boot/initrd.img-6.1.0-13-amd64", "initrd");
    std::filesystem::create_directories(tree_.path("/lib/modules/6.1.0-13-amd64"));
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].version, "6.1.0-13-amd64");  // from the file name
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_THAT(ks[0].reason, HasSubstr("bad image header"));
}

TEST_F(DiscoveryTest, NoInitrd) {
    tree_.debianKernel("6.1.0-13-amd64", /*initrd=*/false);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_EQ(ks[0].reason, "no initrd");
    EXPECT_THAT(ks[0].initrds, IsEmpty());
}

TEST_F(DiscoveryTest, EmptyInitrd) {
    tree_.debianKernel("6.1.0-13-amd64", /*initrd=*/false);
    tree_.file("/boot/initrd.img-6.1.0-13-amd64", "");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_THAT(ks[0].reason, HasSubstr("/boot/initrd.img-6.1.0-13-amd64 is empty"));
    // An empty initrd is broken whatever RequireInitrd says.
    ks = scan({.requireInitrd = false, .requireModules = true});
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_THAT(ks[0].reason, HasSubstr("is empty"));
}

TEST_F(DiscoveryTest, NoModulesDirectory) {
    tree_.debianKernel("6.1.0-13-amd64", true, /*modules=*/false);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_EQ(ks[0].reason, "no modules directory");
}

TEST_F(DiscoveryTest, ModulesFileIsNotADirectory) {
    tree_.debianKernel("6.1.0-13-amd64", true, /*modules=*/false);
    tree_.file("/lib/modules/6.1.0-13-amd64", "not a dir");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].reason, "no modules directory");
}

TEST_F(DiscoveryTest, RequireInitrdFalseLiftsNoInitrd) {
    tree_.debianKernel("6.1.0-13-amd64", /*initrd=*/false);
    auto ks = scan({.requireInitrd = false, .requireModules = true});
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_THAT(ks[0].initrds, IsEmpty());
}

TEST_F(DiscoveryTest, RequireModulesFalseLiftsNoModules) {
    tree_.debianKernel("6.1.0-13-amd64", true, /*modules=*/false);
    auto ks = scan({.requireInitrd = true, .requireModules = false});
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
}

TEST_F(DiscoveryTest, ModulesInLibOrUsrLib) {
    tree_.debianKernel("6.1.0-13-amd64");  // lib/modules
    tree_.fedoraKernel("6.1.0-9-amd64");   // usr/lib/modules
    EXPECT_TRUE(std::filesystem::is_directory(tree_.path("/lib/modules/6.1.0-13-amd64")));
    EXPECT_FALSE(std::filesystem::exists(tree_.path("/usr/lib/modules/6.1.0-13-amd64")));
    EXPECT_TRUE(std::filesystem::is_directory(tree_.path("/usr/lib/modules/6.1.0-9-amd64")));
    EXPECT_FALSE(std::filesystem::exists(tree_.path("/lib/modules/6.1.0-9-amd64")));
    auto ks = scan();
    ASSERT_EQ(ks.size(), 2u);
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_TRUE(ks[1].bootable) << ks[1].reason;
}

TEST_F(DiscoveryTest, NewestFirst) {
    tree_.debianKernel("6.1.0-9-amd64");
    tree_.debianKernel("6.12.9+deb12-amd64");
    tree_.debianKernel("6.1.0-13-amd64");
    tree_.debianKernel("6.12.12+deb12-amd64");
    tree_.debianKernel("6.12~rc7-amd64");
    auto ks = scan();
    std::vector<std::string> versions;
    for (auto& k : ks) versions.push_back(k.version);
    EXPECT_THAT(versions, ElementsAre("6.12.12+deb12-amd64", "6.12.9+deb12-amd64", "6.12~rc7-amd64",
                                      "6.1.0-13-amd64", "6.1.0-9-amd64"));
    EXPECT_EQ(newestBootable(ks), &ks[0]);
}

TEST_F(DiscoveryTest, SampleSystem) {
    fixture::sampleSystem(dir_.path());
    auto ks = scan();
    std::vector<std::string> versions;
    for (auto& k : ks) versions.push_back(k.version);
    EXPECT_THAT(versions, ElementsAre("6.13.1-amd64", "6.12.12+deb12-amd64", "6.12.9+deb12-amd64",
                                      "6.1.0-13-amd64", "6.1.0-9-amd64"));
    EXPECT_FALSE(ks[0].bootable);
    EXPECT_EQ(ks[0].reason, "no modules directory");
    EXPECT_TRUE(ks[1].bootable) << ks[1].reason;
    EXPECT_FALSE(ks[2].bootable);
    EXPECT_EQ(ks[2].reason, "no initrd");
    ASSERT_NE(newestBootable(ks), nullptr);
    EXPECT_EQ(newestBootable(ks)->version, "6.12.12+deb12-amd64");
}

TEST_F(DiscoveryTest, NewestBootableSkipsBrokenKernels) {
    tree_.debianKernel("6.13.1-amd64", true, /*modules=*/false);
    tree_.debianKernel("6.12.12+deb12-amd64", /*initrd=*/false);
    tree_.debianKernel("6.1.0-13-amd64");
    auto ks = scan();
    ASSERT_EQ(ks.size(), 3u);
    const Kernel* n = newestBootable(ks);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->version, "6.1.0-13-amd64");
}

TEST(NewestBootable, NoneBootable) {
    std::vector<Kernel> ks(2);
    EXPECT_EQ(newestBootable(ks), nullptr);
    EXPECT_EQ(newestBootable({}), nullptr);
}

TEST_F(DiscoveryTest, SameVersionBootableFirst) {
    // An Arch image and a Debian-style one carrying the same release.
    tree_.archKernel("linux", "6.12.7-arch1-1");
    tree_.file("/boot/vmlinuz-6.12.7-arch1-1", fixture::bzImage("6.12.7-arch1-1"));
    auto ks = scan();
    ASSERT_EQ(ks.size(), 2u);
    EXPECT_EQ(ks[0].version, ks[1].version);
    EXPECT_TRUE(ks[0].bootable);
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-linux");
    EXPECT_FALSE(ks[1].bootable);
    EXPECT_EQ(ks[1].reason, "no initrd");
}

TEST_F(DiscoveryTest, ArmImageNames) {
    tree_.file("/boot/Image-6.1.0-13-arm64", fixture::arm64Image("6.1.0-13-arm64"));
    tree_.file("/boot/vmlinuz-6.12.12+deb12-arm64",
               fixture::gzip(fixture::arm64Image("6.12.12+deb12-arm64")));
    for (const char* v : {"6.1.0-13-arm64", "6.12.12+deb12-arm64"}) {
        tree_.file(std::string("/boot/initrd.img-") + v, "initrd");
        std::filesystem::create_directories(tree_.path(std::string("/lib/modules/") + v));
    }
    auto ks = scan();
    ASSERT_EQ(ks.size(), 2u);
    EXPECT_EQ(ks[0].image, "/boot/vmlinuz-6.12.12+deb12-arm64");
    EXPECT_TRUE(ks[0].bootable) << ks[0].reason;
    EXPECT_EQ(ks[1].image, "/boot/Image-6.1.0-13-arm64");
    EXPECT_TRUE(ks[1].bootable) << ks[1].reason;
}

TEST_F(DiscoveryTest, RescanSeesReplacedImage) {
    tree_.debianKernel("6.1.0-13-amd64");
    Discovery d{Root(dir_.path())};
    auto ks = d.scan({});
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_TRUE(ks[0].bootable);
    // Replaced by an image of another release (different size, so a new
    // FileId even on file systems with coarse timestamps).
    tree_.file("/boot/vmlinuz-6.1.0-13-amd64", fixture::bzImage("6.1.0-12-amd64", 20000));
    ks = d.scan({});
    ASSERT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks[0].version, "6.1.0-12-amd64");
    EXPECT_FALSE(ks[0].bootable);
}

}  // namespace
}  // namespace kexecd
