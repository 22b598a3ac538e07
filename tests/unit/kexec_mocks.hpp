#pragma once
// The kernel interface faked for LinuxKexec tests, and reading back what was
// handed to it through file descriptors.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include "kexec.hpp"

namespace kexecd::test {

class MockSyscalls : public KexecSyscalls {
  public:
    MOCK_METHOD(int, kexecFileLoad,
                (int kernelFd, int initrdFd, const std::string& cmdline, unsigned long flags),
                (override));
    MOCK_METHOD(int, runKexecTool,
                (const std::vector<std::string>& args, const std::vector<int>& keepFds),
                (override));
};

// The whole content behind an fd, from offset 0, without moving its offset.
inline std::string readFd(int fd) {
    std::string out;
    std::vector<char> buf(1 << 16);
    for (off_t off = 0;;) {
        ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ADD_FAILURE() << "pread fd " << fd << ": " << errno;
            return out;
        }
        if (n == 0) return out;
        out.append(buf.data(), static_cast<size_t>(n));
        off += n;
    }
}

// What /proc/self/fd/FD points at ("" when closed).
inline std::string fdTarget(int fd) {
    char buf[PATH_MAX];
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

// Sealed against writes, growing and shrinking, and further seal changes.
inline bool sealedForGood(int fd) {
    int all = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;
    int seals = ::fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & all) == all;
}

}  // namespace kexecd::test
