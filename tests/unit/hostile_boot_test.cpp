// /boot as a broken package or an attacker leaves it: FIFOs, sockets,
// devices, symlinks out of /boot, odd names and banners, empty, truncated,
// huge and unreadable files, and very many files. One bad file costs only
// itself: discovery never hangs, never fails as a whole, and everything it
// returns is valid UTF-8 without control characters.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "discovery.hpp"
#include "error.hpp"
#include "kexec.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"
#include "text.hpp"

namespace kexecd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class HostileBootTest : public ::testing::Test {
  protected:
    HostileBootTest() : tree_(dir_.path()) { tree_.debianKernel(kGood); }

    std::vector<Kernel> scan() {
        Discovery d{Root(dir_.path())};
        auto ks = d.scan({});
        for (auto& k : ks) {
            EXPECT_TRUE(isPlainShown(k.version)) << escapeText(k.version);
            EXPECT_TRUE(isPlainShown(k.image)) << escapeText(k.image);
            EXPECT_TRUE(isPlainShown(k.reason)) << escapeText(k.reason);
            for (auto& i : k.initrds) EXPECT_TRUE(isPlainShown(i)) << escapeText(i);
        }
        return ks;
    }
    static bool isPlainShown(const std::string& s) {
        return isValidUtf8(s) && std::none_of(s.begin(), s.end(), [](char c) {
                   return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
               });
    }
    const Kernel* find(const std::vector<Kernel>& ks, const std::string& image) {
        for (auto& k : ks)
            if (k.image == image) return &k;
        return nullptr;
    }
    void expectGoodIsNewestBootable(const std::vector<Kernel>& ks) {
        const Kernel* n = newestBootable(ks);
        ASSERT_NE(n, nullptr);
        EXPECT_EQ(n->version, kGood);
    }

    const std::string kGood = "6.1.0-13-amd64";
    test::TempDir dir_;
    fixture::Tree tree_;
};

TEST_F(HostileBootTest, NonUtf8FileNameIsListedEscapedAndNotBootable) {
    tree_.debianKernel("6.12.0-1-amd64");
    fs::rename(tree_.path("/boot/vmlinuz-6.12.0-1-amd64"), tree_.path("/boot/vmlinuz-6.12.0-\xff"));
    auto ks = scan();
    const Kernel* bad = find(ks, "/boot/vmlinuz-6.12.0-\\xff");
    ASSERT_NE(bad, nullptr);
    EXPECT_FALSE(bad->bootable);
    EXPECT_THAT(bad->reason, HasSubstr("not valid UTF-8"));
    expectGoodIsNewestBootable(ks);
}

TEST_F(HostileBootTest, NewlineInFileNameIsEscaped) {
    tree_.file("/boot/vmlinuz-6.9.0\nforged line", fixture::bzImage("6.9.0"));
    auto ks = scan();
    const Kernel* bad = find(ks, "/boot/vmlinuz-6.9.0\\x0aforged line");
    ASSERT_NE(bad, nullptr);
    EXPECT_FALSE(bad->bootable);
    expectGoodIsNewestBootable(ks);
}

TEST_F(HostileBootTest, BannerWithTerminalEscapesIsNotShownRaw) {
    tree_.file("/boot/vmlinuz-7.0.0",
               fixture::arm64Image("7.0.0\x1b[2K\r6.1.0-13-amd64\xc3\x28", 65536));
    tree_.file("/boot/initrd.img-7.0.0", "initrd");
    auto ks = scan();
    const Kernel* bad = find(ks, "/boot/vmlinuz-7.0.0");
    ASSERT_NE(bad, nullptr);
    EXPECT_FALSE(bad->bootable);
    EXPECT_EQ(bad->version, "7.0.0\\x1b[2K\\x0d6.1.0-13-amd64\\xc3(");
    expectGoodIsNewestBootable(ks);
}

TEST_F(HostileBootTest, FifosSocketsDevicesAndDirectoriesAreNotKernels) {
    ASSERT_EQ(::mkfifo(tree_.path("/boot/vmlinuz-9.0.0").c_str(), 0600), 0);
    ASSERT_EQ(::mkfifo(tree_.path("/boot/initrd.img-" + kGood + ".fifo").c_str(), 0600), 0);
    fs::create_directories(tree_.path("/boot/vmlinuz-9.1.0"));
    fs::create_symlink("/dev/zero", tree_.path("/boot/vmlinuz-9.2.0"));
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string sp = tree_.path("/boot/vmlinuz-9.3.0");
    ASSERT_LT(sp.size(), sizeof addr.sun_path);
    std::copy(sp.begin(), sp.end(), addr.sun_path);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(s);
    auto ks = scan();
    ASSERT_EQ(ks.size(), 1u);
    expectGoodIsNewestBootable(ks);
}

TEST_F(HostileBootTest, FifoInitrdIsNotAnInitrd) {
    tree_.debianKernel("6.12.0-1-amd64", false);
    ASSERT_EQ(::mkfifo(tree_.path("/boot/initrd.img-6.12.0-1-amd64").c_str(), 0600), 0);
    auto ks = scan();
    const Kernel* k = find(ks, "/boot/vmlinuz-6.12.0-1-amd64");
    ASSERT_NE(k, nullptr);
    EXPECT_FALSE(k->bootable);
    EXPECT_EQ(k->reason, "no initrd");
    expectGoodIsNewestBootable(ks);
}

TEST_F(HostileBootTest, SymlinkOutOfBootIsNotBootable) {
    tree_.file("/home/user/vmlinuz", fixture::bzImage("6.15.0"));
    tree_.file("/boot/initrd.img-6.15.0", "initrd");
    fs::create_directories(tree_.path("/lib/modules/6.15.0"));
    fs::create_symlink("../home/user/vmlinuz", tree_.path("/boot/vmlinuz-6.15.0"));
    auto ks = scan();
    const Kernel* k = find(ks, "/boot/vmlinuz-6.15.0");
    ASSERT_NE(k, nullptr);
    EXPECT_FALSE(k->bootable);
    EXPECT_THAT(k->reason, HasSubstr("outside /boot"));
    expectGoodIsNewestBootable(ks);
}

TEST_F(HostileBootTest, EmptyAndTruncatedImagesAreNotBootable) {
    tree_.file("/boot/vmlinuz-6.20.0", "");
    tree_.file("/boot/vmlinuz-6.21.0", fixture::bzImage("6.21.0").substr(0, 0x210));
    tree_.file("/boot/vmlinuz-6.22.0", fixture::gzip(fixture::arm64Image("6.22.0")).substr(0, 40));
    for (auto v : {"6.20.0", "6.21.0", "6.22.0"}) {
        tree_.file("/boot/initrd.img-" + std::string(v), "initrd");
        fs::create_directories(tree_.path("/lib/modules/" + std::string(v)));
    }
    auto ks = scan();
    ASSERT_EQ(ks.size(), 4u);
    for (auto v : {"6.20.0", "6.21.0", "6.22.0"}) {
        const Kernel* k = find(ks, "/boot/vmlinuz-" + std::string(v));
        ASSERT_NE(k, nullptr) << v;
        EXPECT_FALSE(k->bootable) << v;
        EXPECT_THAT(k->reason, HasSubstr("bad image header")) << v;
    }
    expectGoodIsNewestBootable(ks);
}

TEST_F(HostileBootTest, HugeSparseInitrdIsNotBootableAndNeverCopied) {
    tree_.debianKernel("6.12.0-1-amd64");
    tree_.file("/boot/intel-ucode.img", "ucode");
    auto initrd = tree_.path("/boot/initrd.img-6.12.0-1-amd64");
    fs::resize_file(initrd, 3ull << 30);  // sparse: 3 GiB that take no space
    auto ks = scan();
    const Kernel* k = find(ks, "/boot/vmlinuz-6.12.0-1-amd64");
    ASSERT_NE(k, nullptr);
    EXPECT_FALSE(k->bootable);
    EXPECT_THAT(k->reason, HasSubstr("at most 2 GiB"));
    expectGoodIsNewestBootable(ks);

    // Should it be asked for anyway (a race with a growing file), the
    // concatenation refuses before copying a byte.
    try {
        openInitrd({tree_.path("/boot/intel-ucode.img"), initrd});
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotBootable);
        EXPECT_THAT(e.what(), HasSubstr("at most 2 GiB"));
    }
}

TEST_F(HostileBootTest, FifoSwappedInAtStagingIsRefusedNotWaitedOn) {
    auto fifo = tree_.path("/boot/initrd.img-fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (auto list : {std::vector<FilePart>{fifo},
                      std::vector<FilePart>{tree_.path("/boot/initrd.img-" + kGood), fifo}}) {
        try {
            openInitrd(list);
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_THAT(e.what(), HasSubstr("not a regular file"));
        }
    }
    EXPECT_THAT(inspectImage(fifo).error, HasSubstr("not a regular file"));
}

// The unit keeps no CAP_DAC_OVERRIDE: a kernel whose initrd the daemon cannot
// read is not "the newest bootable", so AutoStage falls back to the next.
// Run in a child without the DAC capabilities, so the test means the same as
// root (CI) and as a user.
TEST_F(HostileBootTest, UnreadableInitrdIsNotBootable) {
    tree_.debianKernel("6.12.0-1-amd64");
    ::chmod(tree_.path("/boot/initrd.img-6.12.0-1-amd64").c_str(), 0);
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2]{};
        if (::syscall(SYS_capget, &hdr, data) == 0) {
            data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
            ::syscall(SYS_capset, &hdr, data);
        }
        Discovery d{Root(dir_.path())};
        std::string out;
        for (auto& k : d.scan({}))
            out += k.version + "|" + (k.bootable ? "yes" : "no") + "|" + k.reason + "\n";
        (void)!::write(pipefd[1], out.data(), out.size());
        _exit(0);
    }
    ::close(pipefd[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, n);
    ::close(pipefd[0]);
    ::waitpid(pid, nullptr, 0);
    EXPECT_THAT(out, HasSubstr("6.12.0-1-amd64|no|cannot open /boot/initrd.img-6.12.0-1-amd64: "
                               "Permission denied"));
    EXPECT_THAT(out, HasSubstr(kGood + "|yes|"));
}

TEST_F(HostileBootTest, TenThousandFilesCostOnlyThemselves) {
    for (int i = 0; i < 10000; ++i) {
        auto p = tree_.path("/boot/vmlinuz-5." + std::to_string(i) + ".0");
        int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0) << p;
        ::close(fd);
    }
    auto ks = scan();
    EXPECT_EQ(ks.size(), 10001u);
    EXPECT_EQ(std::count_if(ks.begin(), ks.end(), [](const Kernel& k) { return k.bootable; }), 1);
    expectGoodIsNewestBootable(ks);
}

}  // namespace
}  // namespace kexecd
