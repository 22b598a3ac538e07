#include "image.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "bytes.hpp"
#include "decompress.hpp"
#include "fsutil.hpp"
#include "unique_fd.hpp"
#include "version.hpp"

namespace kexecd {

namespace {

constexpr std::string_view kBanner = "Linux version ";
// A decompressed arm64 kernel is ~30-60 MB; stop well past that so a corrupt
// or hostile file cannot make discovery decompress forever.
constexpr size_t kMaxScan = 192u << 20;
constexpr size_t kChunk = 1u << 20;

// Feeds data through `sink` in chunks, keeping enough overlap that a banner
// split across two chunks is still found. Returns the version or "".
class BannerScanner {
  public:
    // Returns true once found.
    bool feed(std::string_view chunk) {
        buf_.append(chunk);
        version_ = findBannerVersion(buf_);
        if (!version_.empty()) return true;
        // Keep a tail long enough to hold a banner plus a long release string.
        constexpr size_t keep = 256;
        if (buf_.size() > keep) buf_.erase(0, buf_.size() - keep);
        return false;
    }
    const std::string& version() const { return version_; }

  private:
    std::string buf_;
    std::string version_;
};

ImageInfo fail(ImageFormat f, std::string why) {
    return ImageInfo{f, "", std::move(why)};
}

// Scans at most `length` bytes from `start`: a kernel inside a UKI ends where
// its section does, and the initrd after it must not lend it a banner.
ImageInfo scanPlain(int fd, off_t start, uint64_t length, ImageFormat f) {
    BannerScanner scanner;
    std::vector<char> buf(kChunk);
    size_t total = 0;
    for (off_t off = start; total < kMaxScan && total < length;) {
        size_t got = 0;
        size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - total));
        if (!preadFull(fd, buf.data(), want, off, &got))
            return fail(f, "cannot read image: " + errnoText(errno));
        if (got == 0) break;
        if (scanner.feed(std::string_view(buf.data(), got)))
            return ImageInfo{f, scanner.version(), ""};
        off += static_cast<off_t>(got);
        total += got;
    }
    return fail(f, "bad image header: no \"Linux version\" banner in the image");
}

// Decompresses the kernel and scans the output for the banner, stopping
// there: the rest of the image is not needed to know its version.
ImageInfo scanCompressed(int fd, const CompressedKernel& c, ImageFormat f) {
    BannerScanner scanner;
    std::string error = decompressKernel(
        fd, c, kMaxScan, std::chrono::steady_clock::now() + std::chrono::seconds(30),
        [&scanner](std::string_view chunk) { return !scanner.feed(chunk); });
    if (!scanner.version().empty()) return ImageInfo{f, scanner.version(), ""};
    if (!error.empty()) return fail(f, "bad image header: " + error);
    return fail(f, "bad image header: no \"Linux version\" banner in the image");
}

ImageInfo inspectX86(const unsigned char* h, size_t got) {
    const auto f = ImageFormat::X86BzImage;
    unsigned setupSects = h[0x1F1] ? h[0x1F1] : 4;
    if (le16(h + 0x1FE) != 0xAA55) return fail(f, "bad image header: no boot signature");
    uint16_t kv = le16(h + 0x20E);
    if (kv == 0) return fail(f, "bad image header: bzImage carries no version string");
    size_t off = static_cast<size_t>(kv) + 0x200;
    if (kv >= 0x200u * setupSects || off >= got)
        return fail(f, "bad image header: version string outside the setup code");
    std::string_view s(reinterpret_cast<const char*>(h) + off, got - off);
    s = s.substr(0, s.find('\0'));
    std::string version(s.substr(0, s.find(' ')));
    if (!looksLikeVersion(version)) return fail(f, "bad image header: unreadable version string");
    return ImageInfo{f, version, ""};
}

}  // namespace

const char* formatName(ImageFormat f) {
    switch (f) {
        case ImageFormat::X86BzImage:
            return "x86 bzImage";
        case ImageFormat::Arm64Image:
            return "arm64 Image";
        case ImageFormat::Gzip:
            return "gzip-compressed Image";
        case ImageFormat::EfiZboot:
            return "EFI zboot image";
        case ImageFormat::Unknown:
            break;
    }
    return "unknown";
}

std::string findBannerVersion(std::string_view data) {
    for (size_t pos = data.find(kBanner); pos != std::string_view::npos;
         pos = data.find(kBanner, pos + 1)) {
        std::string_view rest = data.substr(pos + kBanner.size());
        size_t end = rest.find_first_of(" \n\t", 0);
        // Not terminated yet: the caller feeds more data and asks again.
        if (end == std::string_view::npos) return {};
        std::string_view v = rest.substr(0, end);
        if (looksLikeVersion(v)) return std::string(v);
    }
    return {};
}

ImageInfo inspectImage(const std::filesystem::path& path) {
    // O_NONBLOCK: a FIFO put in place of the image must not block the
    // caller; only regular files are read.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) return fail(ImageFormat::Unknown, "cannot read image: " + errnoText(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0)
        return fail(ImageFormat::Unknown, "cannot read image: " + errnoText(errno));
    if (!S_ISREG(st.st_mode)) return fail(ImageFormat::Unknown, "not a regular file");
    return inspectImageFd(fd.get());
}

ImageInfo inspectImageFd(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) < 0)
        return fail(ImageFormat::Unknown, "cannot read image: " + errnoText(errno));
    return inspectImageRange(fd, 0, static_cast<uint64_t>(st.st_size));
}

ImageInfo inspectImageRange(int fd, uint64_t start, uint64_t length) {
    // The whole x86 setup area (up to 255 sectors after the boot sector):
    // real kernels keep the version string near its end, past 12 KiB.
    std::vector<unsigned char> buf(0x200 * 256);
    unsigned char* h = buf.data();
    size_t got = 0;
    const off_t base = static_cast<off_t>(start);
    if (!preadFull(fd, h, static_cast<size_t>(std::min<uint64_t>(buf.size(), length)), base, &got))
        return fail(ImageFormat::Unknown, "cannot read image: " + errnoText(errno));

    if (got >= 0x210 && std::memcmp(h + 0x202, "HdrS", 4) == 0) return inspectX86(h, got);
    if (got >= 64 && le32(h + 0x38) == 0x644d5241)
        return scanPlain(fd, base, length, ImageFormat::Arm64Image);
    CompressedKernel c =
        findCompressedKernel(std::string_view(reinterpret_cast<const char*>(h), got), length);
    if (c.kind != Compression::None) {
        c.offset += start;
        return scanCompressed(fd, c, c.zboot ? ImageFormat::EfiZboot : ImageFormat::Gzip);
    }
    return fail(ImageFormat::Unknown, "bad image header: not an x86 bzImage or arm64 Image");
}

}  // namespace kexecd
