#include "fsutil.hpp"

#include <fcntl.h>
#include <unistd.h>

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

std::optional<std::string> readSmallFile(const std::filesystem::path& p, size_t limit) {
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        throw Error(ErrorCode::Failed, "cannot open " + p.string() + ": " + errnoText(errno));
    }
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
            throw Error(ErrorCode::Failed, p.string() + " is larger than expected");
    }
    return out;
}

void writeFileAtomic(const std::filesystem::path& p, const std::string& contents, mode_t mode) {
    auto fail = [&](const char* what) {
        throw Error(ErrorCode::Failed,
                    std::string("cannot ") + what + " " + p.string() + ": " + errnoText(errno));
    };
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
        throw Error(ErrorCode::Failed,
                    "cannot create " + p.parent_path().string() + ": " + ec.message());

    std::string tmp = p.string() + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) fail("create");
    size_t off = 0;
    while (off < contents.size()) {
        ssize_t n = ::write(fd.get(), contents.data() + off, contents.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::unlink(tmp.c_str());
            errno = err;
            fail("write");
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) < 0) fail("sync");
    fd.reset();
    if (::rename(tmp.c_str(), p.c_str()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        errno = err;
        fail("replace");
    }
}

}  // namespace kexecd
