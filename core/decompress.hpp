#pragma once
// Compressed kernel images as arm64 distributions ship them: a gzip'd Image
// (Debian's and Ubuntu's vmlinuz) and EFI zboot (Fedora's: a PE wrapper
// around a gzip or zstd payload). kexec_file_load on arm64 takes only a
// plain Image, and the version is read from the decompressed bytes. zlib and
// libzstd do the work; this bounds it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace kexecd {

enum class Compression { None, Gzip, Zstd };

struct CompressedKernel {
    Compression kind = Compression::None;
    bool zboot = false;   // inside an EFI zboot wrapper
    uint64_t offset = 0;  // the compressed stream within the file
    uint64_t size = 0;
    std::string error;  // a zboot payload kexecd cannot read ("" otherwise)
};

// What a file's first bytes (`head`, 32 or more for zboot) say: a gzip stream
// from the start, an EFI zboot payload within `fileSize`, or nothing
// compressed (a plain Image or bzImage: kind None, no error).
CompressedKernel findCompressedKernel(std::string_view head, uint64_t fileSize);

// Decompresses `c` from `fd` (pread only), handing `sink` the output in
// chunks until it returns false (enough: not an error) or the stream ends.
// Returns "" or why not: "corrupt compressed kernel", "truncated compressed
// kernel", more than `maxOut` bytes, or still running at `deadline`.
std::string decompressKernel(int fd, const CompressedKernel& c, uint64_t maxOut,
                             std::chrono::steady_clock::time_point deadline,
                             const std::function<bool(std::string_view)>& sink);

}  // namespace kexecd
