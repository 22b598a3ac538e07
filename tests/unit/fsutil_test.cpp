// The file helpers under attack and under faults: FIFOs and devices never
// block a reader, planted symlinks are never written through, and a write
// that fails leaves the old file whole and no temp file behind.
#include "fsutil.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no Error thrown";
    return "";
}

TEST(ReadSmallFile, FifoIsRefusedNotWaitedOn) {
    test::TempDir dir;
    ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
    EXPECT_THAT(errorOf([&] { readSmallFile(dir / "fifo"); }), HasSubstr("not a regular file"));
}

TEST(ReadSmallFile, DeviceAndDirectoryAreRefused) {
    test::TempDir dir;
    fs::create_directories(dir / "d");
    EXPECT_THAT(errorOf([&] { readSmallFile("/dev/zero"); }), HasSubstr("not a regular file"));
    EXPECT_THAT(errorOf([&] { readSmallFile(dir / "d"); }), HasSubstr("not a regular file"));
}

TEST(ReadSmallFile, SymlinkRefusedOnlyWhenAsked) {
    test::TempDir dir;
    std::ofstream(dir / "real") << "data";
    fs::create_symlink(dir / "real", dir / "link");
    EXPECT_EQ(readSmallFile(dir / "link").value(), "data");
    EXPECT_THAT(errorOf([&] { readSmallFile(dir / "link", 1 << 20, true); }), HasSubstr("symlink"));
    EXPECT_EQ(readSmallFile(dir / "missing"), std::nullopt);
}

TEST(ReadSmallFile, TooLargeIsAnError) {
    test::TempDir dir;
    std::ofstream(dir / "big") << std::string(5000, 'x');
    EXPECT_THAT(errorOf([&] { readSmallFile(dir / "big", 4096); }), HasSubstr("larger than 4096"));
}

TEST(WriteFileAtomic, ReplacesAPlantedSymlinkInsteadOfWritingThroughIt) {
    test::TempDir dir;
    std::ofstream(dir / "victim") << "precious";
    fs::create_directories(dir / "run");
    fs::create_symlink(dir / "victim", dir / "run/state.json");
    // The temp name the old code used, planted too.
    fs::create_symlink(dir / "victim", dir / "run/state.json.tmp");
    writeFileAtomic(dir / "run/state.json", "new", 0644);
    EXPECT_EQ(slurp(dir / "victim"), "precious");
    EXPECT_FALSE(fs::is_symlink(dir / "run/state.json"));
    EXPECT_EQ(slurp(dir / "run/state.json"), "new");
    struct stat st {};
    ASSERT_EQ(::stat((dir / "run/state.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST(WriteFileAtomic, SymlinkedDirectoryIsRefused) {
    test::TempDir dir;
    fs::create_directories(dir / "elsewhere");
    fs::create_symlink(dir / "elsewhere", dir / "run");
    EXPECT_THAT(errorOf([&] { writeFileAtomic(dir / "run/state.json", "x", 0644); }),
                HasSubstr("cannot open the directory of"));
    EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));
}

// A full file system, made with RLIMIT_FSIZE in a child process (write()
// then fails with EFBIG as it would with ENOSPC): the error says so, the old
// contents stay whole and no temp file is left.
TEST(WriteFileAtomic, FailedWriteLeavesTheOldFileAndNoTempFile) {
    test::TempDir dir;
    std::ofstream(dir / "state.json") << "old contents";
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl {
            4, 4
        };
        ::setrlimit(RLIMIT_FSIZE, &rl);
        try {
            writeFileAtomic(dir / "state.json", "new contents, longer than four bytes", 0644);
        } catch (const Error& e) {
            _exit(std::string(e.what()).find("cannot write") != std::string::npos ? 0 : 2);
        }
        _exit(1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error; 2: an error that does not say write";
    EXPECT_EQ(slurp(dir / "state.json"), "old contents");
    int files = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(dir.path())) ++files;
    EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace kexecd
