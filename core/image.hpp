#pragma once
// Reads the kernel release out of a kernel image, so that the version kexecd
// stages is the one the image will boot, whatever its file is called.
#include <cstdint>
#include <filesystem>
#include <string>

namespace kexecd {

enum class ImageFormat {
    Unknown,
    X86BzImage,  // "HdrS" at 0x202, version string via kernel_version (0x20E)
    Arm64Image,  // "ARM\x64" at 0x38, version from the "Linux version " banner
    Gzip,        // gzip-compressed Image (Debian's arm64 vmlinuz)
    EfiZboot,    // EFI zboot ("MZ", "zimg" at 4) wrapping a gzip or zstd payload
};

struct ImageInfo {
    ImageFormat format = ImageFormat::Unknown;
    std::string version;  // "" when it could not be read
    std::string error;    // why not, for the "reason" users see
    bool ok() const { return error.empty(); }
};

ImageInfo inspectImage(const std::filesystem::path& path);
// The same, on an open file (a regular file or memfd; read with pread only).
ImageInfo inspectImageFd(int fd);
// The same, for the `length` bytes at `start` of an open file (the .linux
// section of a unified kernel image).
ImageInfo inspectImageRange(int fd, uint64_t start, uint64_t length);

// Finds "Linux version <release> " in a buffer: the release, or "".
std::string findBannerVersion(std::string_view data);

const char* formatName(ImageFormat f);

}  // namespace kexecd
