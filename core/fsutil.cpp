#include "fsutil.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "unique_fd.hpp"

namespace kexecd {

std::string Root::display(const std::filesystem::path& p) const {
    if (dir_ == "/") return p.string();
    auto rel = p.lexically_relative(dir_);
    if (rel.empty() || *rel.begin() == "..") return p.string();
    return (std::filesystem::path("/") / rel).string();
}

bool isDir(const std::filesystem::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int copyRange(int out, int in, uint64_t offset, uint64_t len) {
    auto off = static_cast<off_t>(offset);
    while (len > 0) {
        ssize_t n =
            ::sendfile(out, in, &off, static_cast<size_t>(std::min<uint64_t>(len, 1 << 30)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) return -ENODATA;
        len -= static_cast<uint64_t>(n);
    }
    return 0;
}

bool preadFull(int fd, void* buf, size_t len, uint64_t offset, size_t* got) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = ::pread(fd, static_cast<char*>(buf) + done, len - done,
                            static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    *got = done;
    return true;
}

std::string errnoText(int err) {
    return std::strerror(err);
}

FileId fileIdOf(const struct stat& st) {
    return FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                  static_cast<int64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
}

std::optional<FileId> statFileId(const std::filesystem::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) return std::nullopt;
    return fileIdOf(st);
}

UniqueFd openRegularFile(const std::filesystem::path& p, bool noFollow, bool missingOk) {
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (noFollow ? O_NOFOLLOW : 0);
    UniqueFd fd(::open(p.c_str(), flags));
    if (!fd) {
        if (errno == ENOENT && missingOk) return fd;
        if (errno == ELOOP && noFollow)
            throw Error(ErrorCode::Failed, "refusing " + p.string() + ": it is a symlink");
        throw Error(ErrorCode::Failed, "cannot open " + p.string() + ": " + errnoText(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0)
        throw Error(ErrorCode::Failed, "cannot stat " + p.string() + ": " + errnoText(errno));
    if (!S_ISREG(st.st_mode))
        throw Error(ErrorCode::Failed, "refusing " + p.string() + ": not a regular file");
    return fd;
}

std::optional<std::string> readSmallFile(const std::filesystem::path& p, size_t limit,
                                         bool noFollow) {
    UniqueFd fd = openRegularFile(p, noFollow, true);
    if (!fd) return std::nullopt;
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(ErrorCode::Failed, "cannot read " + p.string() + ": " + errnoText(errno));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > limit)
            throw Error(ErrorCode::Failed, p.string() + " is larger than " + std::to_string(limit) +
                                               " bytes; not reading it");
    }
    return out;
}

namespace {

std::string randomSuffix() {
    static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[8];
    if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes)
        throw Error(ErrorCode::Failed, std::string("getrandom: ") + errnoText(errno));
    std::string out;
    for (unsigned char b : bytes) out += kChars[b % (sizeof kChars - 1)];
    return out;
}

}  // namespace

void writeFileAtomic(const std::filesystem::path& p, const std::string& contents, mode_t mode) {
    auto fail = [&](const char* what, int err) {
        throw Error(ErrorCode::Failed,
                    std::string("cannot ") + what + " " + p.string() + ": " + errnoText(err));
    };
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
        throw Error(ErrorCode::Failed,
                    "cannot create " + p.parent_path().string() + ": " + ec.message());

    // Everything relative to the directory, so that the temp file and the
    // rename happen in the same place even if a path component is swapped.
    UniqueFd dir(::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!dir) fail("open the directory of", errno);
    const std::string name = p.filename().string();
    std::string tmp;
    UniqueFd fd;
    for (int attempt = 0; !fd && attempt < 16; ++attempt) {
        tmp = "." + name + "." + randomSuffix() + ".tmp";
        fd.reset(::openat(dir.get(), tmp.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
        if (!fd && errno != EEXIST) fail("create a temporary file for", errno);
    }
    if (!fd) fail("create a temporary file for", EEXIST);
    auto discard = [&](const char* what) {
        int err = errno;
        ::unlinkat(dir.get(), tmp.c_str(), 0);
        fail(what, err);
    };
    size_t off = 0;
    while (off < contents.size()) {
        ssize_t n = ::write(fd.get(), contents.data() + off, contents.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            discard("write");
        }
        off += static_cast<size_t>(n);
    }
    if (::fchmod(fd.get(), mode) < 0) discard("set the mode of");  // umask
    if (::fsync(fd.get()) < 0) discard("sync");
    fd.reset();
    if (::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) < 0) discard("replace");
    ::fsync(dir.get());
}

}  // namespace kexecd
