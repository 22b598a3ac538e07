#include "image.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

using fixture::arm64Image;
using fixture::bzImage;
using fixture::efiZboot;
using fixture::gzip;

void put16(std::string& s, size_t off, uint16_t v) {
    s[off] = static_cast<char>(v & 0xff);
    s[off + 1] = static_cast<char>(v >> 8);
}
void put32(std::string& s, size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

class InspectImage : public ::testing::Test {
  protected:
    // Writes `data` to a file and inspects it.
    ImageInfo inspect(const std::string& data, const std::string& name = "vmlinuz-test") {
        auto p = dir_ / name;
        fixture::writeFile(p, data);
        return inspectImage(p);
    }
    test::TempDir dir_;
};

TEST_F(InspectImage, BzImageVersion) {
    auto info = inspect(bzImage("6.1.0-13-amd64"));
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.format, ImageFormat::X86BzImage);
    EXPECT_EQ(info.version, "6.1.0-13-amd64");
}

TEST_F(InspectImage, BzImageVersionsDiffer) {
    EXPECT_EQ(inspect(bzImage("6.12.12+deb12-amd64"), "a").version, "6.12.12+deb12-amd64");
    EXPECT_EQ(inspect(bzImage("6.11.10-300.fc41.x86_64"), "b").version, "6.11.10-300.fc41.x86_64");
}

// Real kernels have 15-30 sectors of setup code, and the version string is
// near its end (kernel_version around 0x3000-0x3c00), well past the first
// 8 KiB of the file.
TEST_F(InspectImage, BzImageWithRealisticSetupSize) {
    constexpr unsigned setupSects = 0x1f;
    std::string img(0x200 * (setupSects + 1) + 4096, '\0');
    img[0] = 'M';
    img[1] = 'Z';
    img[0x1F1] = static_cast<char>(setupSects);
    put16(img, 0x1FE, 0xAA55);
    img.replace(0x202, 4, "HdrS");
    put16(img, 0x206, 0x020f);
    const uint16_t kv = 0x37c0;
    put16(img, 0x20E, kv);
    std::string banner = "6.1.0-13-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC";
    img.replace(kv + 0x200, banner.size() + 1, banner + '\0');

    auto info = inspect(img);
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.format, ImageFormat::X86BzImage);
    EXPECT_EQ(info.version, "6.1.0-13-amd64");
}

TEST_F(InspectImage, BzImageWithoutHdrSIsNotRecognised) {
    std::string img = bzImage("6.1.0-13-amd64");
    img.replace(0x202, 4, "XXXX");
    auto info = inspect(img);
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::Unknown);
    EXPECT_EQ(info.version, "");
    EXPECT_NE(info.error.find("bad image header"), std::string::npos) << info.error;
}

TEST_F(InspectImage, BzImageWithoutVersionPointer) {
    std::string img = bzImage("6.1.0-13-amd64");
    put16(img, 0x20E, 0);
    auto info = inspect(img);
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::X86BzImage);
    EXPECT_EQ(info.version, "");
    EXPECT_NE(info.error.find("no version string"), std::string::npos) << info.error;
}

TEST_F(InspectImage, BzImageVersionPointerOutsideSetup) {
    std::string img = bzImage("6.1.0-13-amd64", 65536);
    // setup_sects is 4: the setup code is 4 * 512 bytes after the boot sector.
    put16(img, 0x20E, 4 * 0x200);
    auto info = inspect(img);
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::X86BzImage);
    EXPECT_NE(info.error.find("outside the setup code"), std::string::npos) << info.error;

    put16(img, 0x20E, 0xfff0);
    info = inspect(img, "other");
    EXPECT_FALSE(info.ok());
    EXPECT_NE(info.error.find("outside the setup code"), std::string::npos) << info.error;
}

TEST_F(InspectImage, BzImageWithoutBootSignature) {
    std::string img = bzImage("6.1.0-13-amd64");
    put16(img, 0x1FE, 0);
    auto info = inspect(img);
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::X86BzImage);
    EXPECT_NE(info.error.find("boot signature"), std::string::npos) << info.error;
}

TEST_F(InspectImage, BzImageWithGarbageVersionString) {
    std::string img = bzImage("6.1.0-13-amd64");
    img.replace(0x300 + 0x200, 8, "garbage ");
    auto info = inspect(img);
    EXPECT_FALSE(info.ok());
    EXPECT_NE(info.error.find("unreadable version"), std::string::npos) << info.error;
}

TEST_F(InspectImage, Arm64Image) {
    auto info = inspect(arm64Image("6.1.0-13-arm64"));
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.format, ImageFormat::Arm64Image);
    EXPECT_EQ(info.version, "6.1.0-13-arm64");
}

TEST_F(InspectImage, Arm64ImageWithoutBanner) {
    std::string img(65536, '\0');
    put32(img, 0x38, 0x644d5241);
    auto info = inspect(img);
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::Arm64Image);
    EXPECT_NE(info.error.find("Linux version"), std::string::npos) << info.error;
}

TEST_F(InspectImage, GzipArm64Image) {
    auto info = inspect(gzip(arm64Image("6.12.12+deb12-arm64")));
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.format, ImageFormat::Gzip);
    EXPECT_EQ(info.version, "6.12.12+deb12-arm64");
}

TEST_F(InspectImage, EfiZbootWithGzip) {
    auto info = inspect(efiZboot(arm64Image("6.11.10-300.fc41.aarch64")));
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.format, ImageFormat::EfiZboot);
    EXPECT_EQ(info.version, "6.11.10-300.fc41.aarch64");
}

TEST_F(InspectImage, EfiZbootWithZstd) {
    auto info = inspect(efiZboot(arm64Image("6.11.10-300.fc41.aarch64"), "zstd"));
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.format, ImageFormat::EfiZboot);
    EXPECT_EQ(info.version, "6.11.10-300.fc41.aarch64");
}

TEST_F(InspectImage, EfiZbootWithOtherCompressionIsAClearError) {
    std::string img = efiZboot(arm64Image("6.11.10-300.fc41.aarch64"));
    img.replace(24, 8, std::string("lzma\0\0\0\0", 8));
    auto info = inspect(img);
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::EfiZboot);
    EXPECT_EQ(info.version, "");
    EXPECT_NE(info.error.find("lzma"), std::string::npos) << info.error;
    EXPECT_NE(info.error.find("only gzip and zstd"), std::string::npos) << info.error;
}

TEST_F(InspectImage, EfiZbootPayloadSizeIsHonoured) {
    // The payload size in the header says where the compressed data ends:
    // a size that cuts the stream short is a truncated kernel.
    std::string img = efiZboot(arm64Image("6.11.10-300.fc41.aarch64"));
    put32(img, 12, 16);
    auto info = inspect(img);
    EXPECT_FALSE(info.ok());
    EXPECT_NE(info.error.find("truncated"), std::string::npos) << info.error;
}

TEST_F(InspectImage, TruncatedGzip) {
    std::string gz = gzip(arm64Image("6.12.12+deb12-arm64"));
    ASSERT_GT(gz.size(), 40u);
    auto info = inspect(gz.substr(0, 30));
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::Gzip);
    EXPECT_NE(info.error.find("truncated"), std::string::npos) << info.error;
}

TEST_F(InspectImage, CorruptGzip) {
    std::string gz = gzip(arm64Image("6.12.12+deb12-arm64"));
    // The first deflate block says BTYPE=11, which is reserved.
    gz[10] = 0x07;
    auto info = inspect(gz);
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::Gzip);
    EXPECT_NE(info.error.find("corrupt"), std::string::npos) << info.error;
}

TEST_F(InspectImage, TruncatedBzImage) {
    // Cut inside the header, before the version string.
    auto info = inspect(bzImage("6.1.0-13-amd64").substr(0, 0x300));
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.version, "");
    // Cut before "HdrS": not recognisable at all.
    info = inspect(bzImage("6.1.0-13-amd64").substr(0, 0x100), "short");
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::Unknown);
}

TEST_F(InspectImage, EmptyAndGarbageFiles) {
    auto info = inspect("", "empty");
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::Unknown);
    EXPECT_NE(info.error.find("not an x86 bzImage or arm64 Image"), std::string::npos)
        << info.error;

    std::string garbage(100000, '\0');
    for (size_t i = 0; i < garbage.size(); ++i)
        garbage[i] = static_cast<char>((i * 2654435761u) >> 13);
    info = inspect(garbage, "garbage");
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.version, "");

    info = inspect("#!/bin/sh\necho Linux version 6.1.0 \n", "script");
    EXPECT_FALSE(info.ok());
    EXPECT_EQ(info.format, ImageFormat::Unknown);
}

TEST_F(InspectImage, MissingFile) {
    auto info = inspectImage(dir_ / "nope");
    EXPECT_FALSE(info.ok());
    EXPECT_NE(info.error.find("cannot read image"), std::string::npos) << info.error;
}

// An arm64 Image larger than the 1 MiB read chunk, with the banner split by
// the chunk boundary.
std::string arm64WithBannerAt(size_t bannerOffset, const std::string& version, size_t size) {
    std::string img(size, '\0');
    put32(img, 0x38, 0x644d5241);
    std::string banner = "Linux version " + version + " (debian-kernel@lists.debian.org) #1 SMP\n";
    img.replace(bannerOffset, banner.size(), banner);
    return img;
}

TEST_F(InspectImage, BannerStraddlingTheChunkBoundary) {
    constexpr size_t MiB = 1u << 20;
    const std::string v = "6.12.12+deb12-arm64";
    // Split inside "Linux version ", inside the release, and right before
    // the space that ends it.
    for (size_t back : {7u, 14u + 5u, 14u + 19u}) {
        SCOPED_TRACE(back);
        auto img = arm64WithBannerAt(MiB - back, v, 3 * MiB);
        ASSERT_EQ(img.substr(MiB - back, 14), "Linux version ");
        auto info = inspect(img, "Image-" + std::to_string(back));
        EXPECT_TRUE(info.ok()) << info.error;
        EXPECT_EQ(info.format, ImageFormat::Arm64Image);
        EXPECT_EQ(info.version, v);
    }
}

TEST_F(InspectImage, BannerStraddlingTheChunkBoundaryCompressed) {
    constexpr size_t MiB = 1u << 20;
    const std::string v = "6.12.12+deb12-arm64";
    auto info = inspect(gzip(arm64WithBannerAt(MiB - 9, v, 3 * MiB)), "vmlinuz-gz");
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.version, v);
    info = inspect(efiZboot(arm64WithBannerAt(2 * MiB - 20, v, 3 * MiB)), "vmlinuz-efi");
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.version, v);
}

TEST_F(InspectImage, BannerFarIntoTheImage) {
    const std::string v = "6.1.0-13-arm64";
    auto info = inspect(arm64WithBannerAt((5u << 20) + 123, v, 6u << 20));
    EXPECT_TRUE(info.ok()) << info.error;
    EXPECT_EQ(info.version, v);
}

TEST(FindBannerVersion, InABuffer) {
    using namespace std::literals;
    EXPECT_EQ(findBannerVersion("xx\0Linux version 6.1.0-13-arm64 (gcc) #1\n"sv), "6.1.0-13-arm64");
    EXPECT_EQ(findBannerVersion("\0\0Linux version 6.1.0-13-arm64\n"sv), "6.1.0-13-arm64");
    EXPECT_EQ(findBannerVersion("Linux version 6.1.0-13-arm64\tx"sv), "6.1.0-13-arm64");
    EXPECT_EQ(findBannerVersion("no banner here"), "");
    EXPECT_EQ(findBannerVersion(""), "");
}

TEST(FindBannerVersion, UnterminatedIsNotFoundYet) {
    // More data may follow: "6.1" could become "6.12.0-1".
    EXPECT_EQ(findBannerVersion("Linux version 6.1"), "");
    EXPECT_EQ(findBannerVersion("Linux versio"), "");
}

TEST(FindBannerVersion, SkipsOccurrencesThatAreNotABanner) {
    EXPECT_EQ(findBannerVersion("Linux version %s (%s)\nLinux version 6.9.1-arch1-1 (x)"),
              "6.9.1-arch1-1");
}

TEST(FindBannerVersion, SplitAcrossTwoBuffersNeedsBoth) {
    std::string all = "....Linux version 6.12.12+deb12-arm64 (gcc) #1";
    ASSERT_EQ(all[37], ' ');
    for (size_t cut = 5; cut <= 37; ++cut)
        EXPECT_EQ(findBannerVersion(all.substr(0, cut)), "") << cut;
    EXPECT_EQ(findBannerVersion(all.substr(0, 38)), "6.12.12+deb12-arm64");
    EXPECT_EQ(findBannerVersion(all), "6.12.12+deb12-arm64");
}

TEST(FormatName, Names) {
    EXPECT_STREQ(formatName(ImageFormat::X86BzImage), "x86 bzImage");
    EXPECT_STREQ(formatName(ImageFormat::Arm64Image), "arm64 Image");
    EXPECT_STREQ(formatName(ImageFormat::Gzip), "gzip-compressed Image");
    EXPECT_STREQ(formatName(ImageFormat::EfiZboot), "EFI zboot image");
    EXPECT_STREQ(formatName(ImageFormat::Unknown), "unknown");
}

}  // namespace
}  // namespace kexecd
