#pragma once
// Small file helpers shared by the core. They throw kexecd::Error(Failed)
// with the path and strerror in the message.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "unique_fd.hpp"

namespace kexecd {

// Where every path the daemon touches lives: "/" in production, a test
// fixture or sample tree with --root.
class Root {
  public:
    explicit Root(std::filesystem::path dir = "/") : dir_(std::move(dir)) {}
    // path("/boot") -> <root>/boot
    std::filesystem::path path(const std::filesystem::path& absolute) const {
        return dir_ / absolute.relative_path();
    }
    // The inverse, for showing paths to users as the system sees them.
    std::string display(const std::filesystem::path& p) const;
    const std::filesystem::path& dir() const { return dir_; }

  private:
    std::filesystem::path dir_;
};

// Identifies one version of a file: a rebuilt initrd gets a new inode or
// mtime even when its size stays the same.
struct FileId {
    uint64_t dev = 0;
    uint64_t ino = 0;
    int64_t size = 0;
    int64_t mtimeNs = 0;
    bool operator==(const FileId&) const = default;
};
FileId fileIdOf(const struct stat& st);
std::optional<FileId> statFileId(const std::filesystem::path& p);  // nullopt if missing

// Opens a file for reading without ever blocking (a FIFO or device swapped
// in for a file must not hang the daemon) and requires a regular file.
// With `noFollow` a symlink in the last component is refused. Throws
// Error(Failed) naming the path; errno-like detail in the message. Returns an
// invalid fd only for ENOENT when `missingOk`.
UniqueFd openRegularFile(const std::filesystem::path& p, bool noFollow = false,
                         bool missingOk = false);

// Whole small file (for /proc and /sys files); nullopt when it does not
// exist. Anything but a regular file, or a file past `limit`, is an error.
std::optional<std::string> readSmallFile(const std::filesystem::path& p, size_t limit = 1 << 20,
                                         bool noFollow = false);

// Replaces p atomically (a new temp file with a random name created with
// O_EXCL|O_NOFOLLOW next to it, fsync, rename), so a crash leaves the old or
// the new contents, never half of one, and a symlink planted at p or at the
// temp name is replaced, never written through.
void writeFileAtomic(const std::filesystem::path& p, const std::string& contents, mode_t mode);

// A directory (symlinks followed); false when missing or unreadable.
bool isDir(const std::filesystem::path& p);

// pread until `len` bytes or the end of the file (*got says how many),
// across EINTR and short reads. False with errno set on a read error.
bool preadFull(int fd, void* buf, size_t len, uint64_t offset, size_t* got);

// Copies `len` bytes of `in` from `offset` to `out` (at its position) with
// sendfile, across EINTR and short copies. 0, -errno on an error, or
// -ENODATA when `in` ended first.
int copyRange(int out, int in, uint64_t offset, uint64_t len);

std::string errnoText(int err);

}  // namespace kexecd
