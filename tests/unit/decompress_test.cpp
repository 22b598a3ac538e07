// Compressed arm64 kernels (gzip'd Image, EFI zboot with gzip or zstd):
// decompressed byte for byte into a sealed memfd for loading, bounded, and
// a plain image passed on as it is.
#include "decompress.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "kexec.hpp"
#include "kexec_mocks.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;

const std::string kV = "6.12.12+deb12-arm64";

// An arm64 Image of a few MiB whose body is not all zeros, so that the
// compressed stream spans many chunks of input and output.
std::string bigImage() {
    std::string img = fixture::arm64Image(kV, 5u << 20);
    uint32_t x = 2463534242u;
    for (size_t i = 1u << 20; i < (2u << 20); i += 3) {  // before the banner, at the middle
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;         // xorshift: cheap, compressible enough
        img[i] = static_cast<char>(x % 7);
    }
    return img;
}

using test::fdTarget;
using test::readFd;
using test::sealedForGood;

class DecompressTest : public ::testing::Test {
  protected:
    std::filesystem::path put(const std::string& name, const std::string& data) {
        fixture::writeFile(dir_ / name, data);
        return dir_ / name;
    }
    // openKernel must throw; returns the error.
    Error openError(const std::filesystem::path& p) {
        try {
            openKernel(p);
        } catch (const Error& e) {
            return e;
        }
        ADD_FAILURE() << "openKernel did not throw";
        return Error(ErrorCode::Failed, "");
    }
    test::TempDir dir_;
};

TEST_F(DecompressTest, EveryFormatGivesBackTheImageByteForByte) {
    const std::string img = bigImage();
    for (auto [name, data] : std::vector<std::pair<std::string, std::string>>{
             {"vmlinuz.gz", fixture::gzip(img)},
             {"zboot-gzip.efi", fixture::efiZboot(img, "gzip")},
             {"zboot-zstd.efi", fixture::efiZboot(img, "zstd")}}) {
        SCOPED_TRACE(name);
        ASSERT_LT(data.size(), img.size() / 2);
        KernelFd k = openKernel(put(name, data));
        EXPECT_TRUE(k.inMemory);
        EXPECT_TRUE(sealedForGood(k.fd.get()));
        std::string out = readFd(k.fd.get());
        ASSERT_EQ(out.size(), img.size());
        EXPECT_TRUE(out == img) << "decompressed bytes differ";
    }
}

TEST_F(DecompressTest, PlainImagesArePassedAsTheyAre) {
    for (auto [name, data] : std::vector<std::pair<std::string, std::string>>{
             {"Image", fixture::arm64Image(kV)}, {"vmlinuz", fixture::bzImage("6.1.0-13-amd64")}}) {
        KernelFd k = openKernel(put(name, data));
        EXPECT_FALSE(k.inMemory) << name;
        EXPECT_EQ(fdTarget(k.fd.get()), (dir_ / name).string());
    }
}

TEST_F(DecompressTest, CorruptAndTruncatedStreamsAreNotBootable) {
    const std::string img = bigImage();
    std::string gz = fixture::gzip(img);
    gz[10] = 0x07;  // the first deflate block's type: reserved
    std::string zs = fixture::efiZboot(img, "zstd");
    std::string cut = zs.substr(0, zs.size() - 100);
    // The header's payload size says more than the file holds.
    Error past = openError(put("cut-zstd.efi", cut));
    EXPECT_EQ(past.code(), ErrorCode::NotBootable);
    EXPECT_THAT(past.what(), HasSubstr("payload past the end of the file"));

    Error corrupt = openError(put("corrupt.gz", gz));
    EXPECT_EQ(corrupt.code(), ErrorCode::NotBootable);
    EXPECT_THAT(corrupt.what(), HasSubstr("corrupt compressed kernel"));

    Error truncated = openError(put("truncated.gz", fixture::gzip(img).substr(0, 5000)));
    EXPECT_EQ(truncated.code(), ErrorCode::NotBootable);
    EXPECT_THAT(truncated.what(), HasSubstr("truncated compressed kernel"));
}

TEST_F(DecompressTest, TruncatedZstdPayload) {
    std::string zs = fixture::zstd(bigImage());
    auto p = put("short.zst", zs.substr(0, zs.size() / 2));
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    CompressedKernel c{Compression::Zstd, true, 0, zs.size() / 2, ""};
    std::string err = decompressKernel(fd.get(), c, 1u << 30,
                                       std::chrono::steady_clock::now() + std::chrono::minutes(1),
                                       [](std::string_view) { return true; });
    EXPECT_EQ(err, "truncated compressed kernel");
}

TEST_F(DecompressTest, OutputSizeAndTimeAreBounded) {
    auto p = put("zeros.gz", fixture::gzip(std::string(8u << 20, '\0')));
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    CompressedKernel c{Compression::Gzip, false, 0, std::filesystem::file_size(p), ""};
    uint64_t seen = 0;
    auto count = [&seen](std::string_view s) {
        seen += s.size();
        return true;
    };
    auto later = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    EXPECT_EQ(decompressKernel(fd.get(), c, 2u << 20, later, count),
              "the decompressed kernel is larger than 2 MiB");
    EXPECT_LE(seen, 2u << 20);
    EXPECT_EQ(decompressKernel(fd.get(), c, 1u << 30, std::chrono::steady_clock::now(), count),
              "decompressing the kernel took too long");
    seen = 0;
    EXPECT_EQ(decompressKernel(fd.get(), c, 1u << 30, later, count), "");
    EXPECT_EQ(seen, 8u << 20);
}

TEST_F(DecompressTest, SinkMayStopEarly) {
    auto p = put("zeros.gz", fixture::gzip(std::string(8u << 20, '\0')));
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    CompressedKernel c{Compression::Gzip, false, 0, std::filesystem::file_size(p), ""};
    int calls = 0;
    EXPECT_EQ(decompressKernel(fd.get(), c, 1u << 30,
                               std::chrono::steady_clock::now() + std::chrono::minutes(1),
                               [&calls](std::string_view) { return ++calls < 2; }),
              "");
    EXPECT_EQ(calls, 2);
}

TEST(FindCompressedKernel, Headers) {
    EXPECT_EQ(findCompressedKernel(fixture::arm64Image(kV), 1 << 20).kind, Compression::None);
    EXPECT_EQ(findCompressedKernel("MZ", 2).kind, Compression::None);
    auto gz = findCompressedKernel(fixture::gzip("x"), 1234);
    EXPECT_EQ(gz.kind, Compression::Gzip);
    EXPECT_FALSE(gz.zboot);
    EXPECT_EQ(gz.size, 1234u);

    std::string z = fixture::efiZboot("payload", "zstd");
    auto zb = findCompressedKernel(z, z.size());
    EXPECT_EQ(zb.kind, Compression::Zstd);
    EXPECT_TRUE(zb.zboot);
    EXPECT_EQ(zb.offset, 512u);
    EXPECT_EQ(zb.offset + zb.size, z.size());
    EXPECT_EQ(zb.error, "");
    EXPECT_THAT(findCompressedKernel(z, z.size() - 1).error, HasSubstr("past the end"));

    z.replace(24, 8, std::string("lz4\x1b\0\0\0\0", 8));
    EXPECT_EQ(findCompressedKernel(z, z.size()).error,
              "EFI zboot payload compressed with lz4?, only gzip and zstd are supported");
}

// Debian's arm64 kernels lack kexec_file_load: the kexec tool gets the
// decompressed Image, as a kept fd.
TEST_F(DecompressTest, KexecToolGetsTheDecompressedImage) {
    const std::string img = bigImage();
    auto p = put("vmlinuz-" + kV, fixture::gzip(img));
    ::testing::StrictMock<test::MockSyscalls> sys;
    LinuxKexec kexec(Root(dir_.path()), sys);
    EXPECT_CALL(sys, kexecFileLoad(_, _, _, _))
        .WillOnce(Invoke([&](int k, int, const std::string&, unsigned long) {
            EXPECT_TRUE(readFd(k) == img);
            return -ENOSYS;
        }));
    EXPECT_CALL(sys, runKexecTool(_, _))
        .WillOnce(Invoke([&](const std::vector<std::string>& args, const std::vector<int>& keep) {
            EXPECT_EQ(args[1].rfind("/proc/self/fd/", 0), 0u) << args[1];
            int fd = std::stoi(args[1].substr(14));
            EXPECT_NE(std::find(keep.begin(), keep.end(), fd), keep.end());
            EXPECT_TRUE(readFd(fd) == img);
            return 0;
        }));
    kexec.load({p, {}, "root=/dev/vda1"});
}

// Real Debian arm64 kernels: the Image a package ships, compressed here as
// Ubuntu (gzip) and Fedora (EFI zboot, gzip or zstd payload) ship theirs,
// comes back byte for byte. The Images (colon-separated paths) come from the
// arm64 VM test's guest image: tests/vm/run-vm-arm64 runs this test alone;
// the unit suite leaves it out (tests/unit/meson.build), as it has no
// Image to give it.
TEST_F(DecompressTest, RealArm64ImagesComeBackByteForByte) {
    const char* env = std::getenv("KEXECD_REAL_ARM64_IMAGES");
    ASSERT_TRUE(env && *env) << "KEXECD_REAL_ARM64_IMAGES names no arm64 Image: run it through "
                                "tests/vm/run-vm-arm64";
    std::stringstream paths(env);
    for (std::string path; std::getline(paths, path, ':');) {
        SCOPED_TRACE(path);
        std::ifstream in(path, std::ios::binary);
        ASSERT_TRUE(in) << "cannot read " << path;
        const std::string img{std::istreambuf_iterator<char>(in), {}};
        ASSERT_GT(img.size(), 4u << 20);
        ASSERT_EQ(img.substr(0x38, 4), std::string("ARM\x64", 4)) << "not a plain arm64 Image";
        for (auto [name, data] : std::vector<std::pair<std::string, std::string>>{
                 {"vmlinuz.gz", fixture::gzip(img)},
                 {"zboot-gzip.efi", fixture::efiZboot(img, "gzip")},
                 {"zboot-zstd.efi", fixture::efiZboot(img, "zstd")}}) {
            SCOPED_TRACE(name);
            ASSERT_LT(data.size(), img.size());
            KernelFd k = openKernel(put(name, data));
            EXPECT_TRUE(k.inMemory);
            EXPECT_TRUE(sealedForGood(k.fd.get()));
            EXPECT_TRUE(readFd(k.fd.get()) == img) << "decompressed bytes differ";
        }
    }
}

}  // namespace
}  // namespace kexecd
