// LinuxKexec against a mocked kernel interface: the real syscall is never
// made here.
#include "kexec.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include "error.hpp"
#include "kexec_mocks.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::StartsWith;
using ::testing::StrictMock;

using test::fdTarget;
using test::MockSyscalls;
using test::readFd;

std::string readPath(const std::string& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ADD_FAILURE() << "open " << p << ": " << errno;
        return "";
    }
    std::string s = readFd(fd);
    ::close(fd);
    return s;
}

bool fdOpen(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

class LinuxKexecTest : public ::testing::Test {
  protected:
    LinuxKexecTest() : tree_(dir_.path()), kexec_(Root(dir_.path()), sys_) {
        kernelData_ = fixture::bzImage("6.12.12+deb12-amd64");
        tree_.file("/boot/vmlinuz-6.12.12+deb12-amd64", kernelData_);
        tree_.file("/boot/intel-ucode.img", "INTEL-MICROCODE\n");
        tree_.file("/boot/amd-ucode.img", "AMD-MICROCODE\n");
        tree_.file("/boot/initrd.img-6.12.12+deb12-amd64", "MAIN-INITRD\n");
    }

    std::filesystem::path p(const std::string& abs) const { return tree_.path(abs); }
    LoadRequest request(std::vector<std::string> initrds,
                        std::string cmdline = "root=/dev/vda1 ro") {
        LoadRequest r{p("/boot/vmlinuz-6.12.12+deb12-amd64"), {}, std::move(cmdline)};
        for (auto& i : initrds) r.initrds.push_back(p(i));
        return r;
    }

    // load() must throw Error; returns it.
    Error loadError(const LoadRequest& req) {
        try {
            kexec_.load(req);
        } catch (const Error& e) {
            return e;
        }
        ADD_FAILURE() << "load did not throw";
        return Error(ErrorCode::Failed, "");
    }

    Error failWithErrno(int err) {
        EXPECT_CALL(sys_, kexecFileLoad(_, _, _, _)).WillOnce(Return(-err));
        return loadError(request({"/boot/initrd.img-6.12.12+deb12-amd64"}));
    }

    test::TempDir dir_;
    fixture::Tree tree_;
    StrictMock<MockSyscalls> sys_;
    LinuxKexec kexec_;
    std::string kernelData_;
};

TEST_F(LinuxKexecTest, FlagValues) {
    EXPECT_EQ(kKexecFileUnload, 0x1ul);
    EXPECT_EQ(kKexecFileNoInitramfs, 0x4ul);
}

TEST_F(LinuxKexecTest, LoadPassesKernelInitrdAndCmdline) {
    std::string kernelSeen, initrdSeen, kernelLink, initrdLink;
    int kfd = -1, ifd = -1;
    EXPECT_CALL(sys_, kexecFileLoad(_, _, "root=/dev/vda1 ro quiet", 0ul))
        .WillOnce([&](int k, int i, const std::string&, unsigned long) {
            kfd = k, ifd = i;
            kernelSeen = readFd(k);
            initrdSeen = readFd(i);
            kernelLink = fdTarget(k);
            initrdLink = fdTarget(i);
            return 0;
        });
    kexec_.load(request({"/boot/initrd.img-6.12.12+deb12-amd64"}, "root=/dev/vda1 ro quiet"));
    EXPECT_EQ(kernelSeen, kernelData_);
    EXPECT_EQ(initrdSeen, "MAIN-INITRD\n");
    EXPECT_EQ(kernelLink, p("/boot/vmlinuz-6.12.12+deb12-amd64").string());
    EXPECT_EQ(initrdLink, p("/boot/initrd.img-6.12.12+deb12-amd64").string());
    ASSERT_GE(kfd, 0);
    ASSERT_GE(ifd, 0);
    EXPECT_NE(kfd, ifd);
    // Both closed again once the kernel has its copy.
    EXPECT_FALSE(fdOpen(kfd));
    EXPECT_FALSE(fdOpen(ifd));
}

TEST_F(LinuxKexecTest, SeveralInitrdsConcatenatedMicrocodeFirst) {
    std::string initrdSeen, initrdLink;
    EXPECT_CALL(sys_, kexecFileLoad(_, _, "root=/dev/vda1 ro", 0ul))
        .WillOnce([&](int k, int i, const std::string&, unsigned long) {
            EXPECT_GE(k, 0);
            initrdSeen = readFd(i);
            initrdLink = fdTarget(i);
            return 0;
        });
    kexec_.load(request(
        {"/boot/intel-ucode.img", "/boot/amd-ucode.img", "/boot/initrd.img-6.12.12+deb12-amd64"}));
    EXPECT_EQ(initrdSeen, "INTEL-MICROCODE\nAMD-MICROCODE\nMAIN-INITRD\n");
    EXPECT_THAT(initrdLink, StartsWith("/memfd:kexecd-initrd"));
}

TEST_F(LinuxKexecTest, NoInitrdSetsNoInitramfs) {
    EXPECT_CALL(sys_, kexecFileLoad(_, -1, "root=/dev/vda1 ro", kKexecFileNoInitramfs))
        .WillOnce([&](int k, int, const std::string&, unsigned long) {
            EXPECT_EQ(readFd(k), kernelData_);
            return 0;
        });
    kexec_.load(request({}));
}

TEST_F(LinuxKexecTest, EmptyCmdline) {
    EXPECT_CALL(sys_, kexecFileLoad(_, _, "", 0ul)).WillOnce(Return(0));
    kexec_.load(request({"/boot/initrd.img-6.12.12+deb12-amd64"}, ""));
}

TEST_F(LinuxKexecTest, MissingKernelFailsBeforeTheSyscall) {
    LoadRequest r = request({});
    r.kernel = p("/boot/vmlinuz-nope");
    Error e = loadError(r);
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("vmlinuz-nope"));
}

TEST_F(LinuxKexecTest, MissingInitrdFailsBeforeTheSyscall) {
    Error e = loadError(request({"/boot/intel-ucode.img", "/boot/initrd.img-gone"}));
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("initrd.img-gone"));
}

TEST_F(LinuxKexecTest, UnloadUsesKexecFileUnload) {
    EXPECT_CALL(sys_, kexecFileLoad(-1, -1, "", kKexecFileUnload)).WillOnce(Return(0));
    kexec_.unload();
}

TEST_F(LinuxKexecTest, UnloadFailure) {
    EXPECT_CALL(sys_, kexecFileLoad(-1, -1, "", kKexecFileUnload)).WillOnce(Return(-EBUSY));
    try {
        kexec_.unload();
        ADD_FAILURE() << "unload did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Busy);
    }
}

TEST_F(LinuxKexecTest, UnloadFallsBackToTheTool) {
    EXPECT_CALL(sys_, kexecFileLoad(-1, -1, "", kKexecFileUnload)).WillOnce(Return(-ENOSYS));
    EXPECT_CALL(sys_, runKexecTool(ElementsAre("-u"), ElementsAre())).WillOnce(Return(0));
    kexec_.unload();
}

TEST_F(LinuxKexecTest, UnloadWithoutTheTool) {
    EXPECT_CALL(sys_, kexecFileLoad(-1, -1, "", kKexecFileUnload)).WillOnce(Return(-ENOSYS));
    EXPECT_CALL(sys_, runKexecTool(ElementsAre("-u"), _)).WillOnce(Return(-ENOENT));
    try {
        kexec_.unload();
        ADD_FAILURE() << "unload did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
        EXPECT_THAT(e.what(), HasSubstr("no kexec tool"));
    }
}

TEST_F(LinuxKexecTest, EpermPlain) {
    Error e = failWithErrno(EPERM);
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("CAP_SYS_BOOT"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("kexec_load_disabled")));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("locked down")));
}

TEST_F(LinuxKexecTest, EpermWithLockdownNoneIsPlain) {
    tree_.file("/proc/sys/kernel/kexec_load_disabled", "0\n");
    tree_.file("/sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
    Error e = failWithErrno(EPERM);
    EXPECT_THAT(e.what(), HasSubstr("CAP_SYS_BOOT"));
}

TEST_F(LinuxKexecTest, EpermWithKexecLoadDisabled) {
    tree_.file("/proc/sys/kernel/kexec_load_disabled", "1\n");
    Error e = failWithErrno(EPERM);
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("kexec_load_disabled=1"));
    EXPECT_THAT(e.what(), HasSubstr("until the next reboot"));
}

TEST_F(LinuxKexecTest, EpermWithLockdownIntegrity) {
    tree_.file("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
    Error e = failWithErrno(EPERM);
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("locked down"));
}

TEST_F(LinuxKexecTest, EpermWithLockdownConfidentiality) {
    tree_.file("/sys/kernel/security/lockdown", "none integrity [confidentiality]\n");
    Error e = failWithErrno(EPERM);
    EXPECT_THAT(e.what(), HasSubstr("locked down"));
}

TEST_F(LinuxKexecTest, EkeyrejectedIsASignatureProblem) {
    // ENODATA: a Debian 12 kernel under Secure Boot (lockdown), seen in the VM test.
    for (int err : {EKEYREJECTED, ENOKEY, EBADMSG, ENODATA}) {
        Error e = failWithErrno(err);
        EXPECT_EQ(e.code(), ErrorCode::KexecFailed) << err;
        EXPECT_THAT(e.what(), HasSubstr("signature")) << err;
    }
}

TEST_F(LinuxKexecTest, Enomem) {
    Error e = failWithErrno(ENOMEM);
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("not enough memory"));
}

TEST_F(LinuxKexecTest, EbusyIsBusy) {
    Error e = failWithErrno(EBUSY);
    EXPECT_EQ(e.code(), ErrorCode::Busy);
    EXPECT_THAT(e.what(), HasSubstr("try again"));
}

TEST_F(LinuxKexecTest, EnoexecAndEinval) {
    EXPECT_THAT(failWithErrno(ENOEXEC).what(), HasSubstr("image format"));
    EXPECT_THAT(failWithErrno(EINVAL).what(), HasSubstr("invalid"));
    // The journal line of a failed automatic staging names the kernel.
    EXPECT_THAT(failWithErrno(EIO).what(),
                HasSubstr("kexec_file_load of " + p("/boot/vmlinuz-6.12.12+deb12-amd64").string() +
                          " failed"));
}

TEST_F(LinuxKexecTest, EnosysFallsBackToTheTool) {
    std::string initrdSeen;
    std::vector<std::string> argsSeen;
    std::vector<int> keepSeen;
    EXPECT_CALL(sys_, kexecFileLoad(_, _, "root=/dev/vda1 ro", 0ul)).WillOnce(Return(-ENOSYS));
    EXPECT_CALL(sys_, runKexecTool(_, _))
        .WillOnce([&](const std::vector<std::string>& args, const std::vector<int>& keep) {
            argsSeen = args;
            keepSeen = keep;
            // What the tool would open.
            for (auto& a : args)
                if (a.rfind("--initrd=", 0) == 0) initrdSeen = readPath(a.substr(9));
            return 0;
        });
    kexec_.load(request({"/boot/intel-ucode.img", "/boot/initrd.img-6.12.12+deb12-amd64"}));
    ASSERT_EQ(keepSeen.size(), 1u);
    EXPECT_THAT(argsSeen, ElementsAre("-l", p("/boot/vmlinuz-6.12.12+deb12-amd64").string(),
                                      "--command-line=root=/dev/vda1 ro",
                                      "--initrd=/proc/self/fd/" + std::to_string(keepSeen[0])));
    EXPECT_EQ(initrdSeen, "INTEL-MICROCODE\nMAIN-INITRD\n");
}

TEST_F(LinuxKexecTest, EnosysFallbackWithoutInitrd) {
    EXPECT_CALL(sys_, kexecFileLoad(_, -1, _, kKexecFileNoInitramfs)).WillOnce(Return(-ENOSYS));
    EXPECT_CALL(sys_,
                runKexecTool(ElementsAre("-l", p("/boot/vmlinuz-6.12.12+deb12-amd64").string(),
                                         "--command-line=root=/dev/vda1 ro"),
                             ElementsAre()))
        .WillOnce(Return(0));
    kexec_.load(request({}));
}

TEST_F(LinuxKexecTest, EnosysAndNoToolIsAClearMessage) {
    EXPECT_CALL(sys_, kexecFileLoad(_, _, _, _)).WillOnce(Return(-ENOSYS));
    EXPECT_CALL(sys_, runKexecTool(_, _)).WillOnce(Return(-ENOENT));
    Error e = loadError(request({"/boot/initrd.img-6.12.12+deb12-amd64"}));
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("kexec_file_load"));
    EXPECT_THAT(e.what(), HasSubstr("install kexec-tools"));
}

TEST_F(LinuxKexecTest, EnosysAndToolFails) {
    EXPECT_CALL(sys_, kexecFileLoad(_, _, _, _)).WillOnce(Return(-ENOSYS));
    EXPECT_CALL(sys_, runKexecTool(_, _)).WillOnce(Return(1));
    Error e = loadError(request({"/boot/initrd.img-6.12.12+deb12-amd64"}));
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("status 1"));
}

TEST_F(LinuxKexecTest, EnosysAndToolCannotStart) {
    EXPECT_CALL(sys_, kexecFileLoad(_, _, _, _)).WillOnce(Return(-ENOSYS));
    EXPECT_CALL(sys_, runKexecTool(_, _)).WillOnce(Return(-EACCES));
    Error e = loadError(request({"/boot/initrd.img-6.12.12+deb12-amd64"}));
    EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(e.what(), HasSubstr("cannot run kexec"));
}

TEST_F(LinuxKexecTest, LoadedReadsSysKernelKexecLoaded) {
    EXPECT_FALSE(kexec_.loaded());  // no file
    tree_.kexecLoaded(true);
    EXPECT_TRUE(kexec_.loaded());
    tree_.kexecLoaded(false);
    EXPECT_FALSE(kexec_.loaded());
    tree_.file("/sys/kernel/kexec_loaded", "");
    EXPECT_FALSE(kexec_.loaded());
    EXPECT_FALSE(kexec_.simulated());
}

TEST(OpenInitrd, NoneSingleAndSeveral) {
    test::TempDir dir;
    fixture::writeFile(dir / "a", "AAA");
    fixture::writeFile(dir / "b", "");
    fixture::writeFile(dir / "c", std::string(200000, 'c'));

    EXPECT_FALSE(openInitrd({}));

    UniqueFd one = openInitrd({dir / "a"});
    ASSERT_TRUE(one);
    EXPECT_EQ(readFd(one.get()), "AAA");
    EXPECT_EQ(fdTarget(one.get()), (dir / "a").string());

    UniqueFd all = openInitrd({dir / "a", dir / "b", dir / "c"});
    ASSERT_TRUE(all);
    EXPECT_EQ(readFd(all.get()), "AAA" + std::string(200000, 'c'));

    try {
        openInitrd({dir / "a", dir / "missing"});
        ADD_FAILURE() << "missing initrd accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
        EXPECT_THAT(e.what(), HasSubstr((dir / "missing").string()));
    }
}

// memfd_create failing (EMFILE, ENOMEM, or a seccomp filter's EPERM) is a
// clear error and the kernel is never asked.
TEST_F(LinuxKexecTest, MemfdFailureIsAClearError) {
    struct NoMemfd : MockSyscalls {
        int memfdCreate(const char*, unsigned) override { return -EMFILE; }
    };
    StrictMock<NoMemfd> sys;
    LinuxKexec kexec(Root(dir_.path()), sys);
    try {
        kexec.load(request({"/boot/intel-ucode.img", "/boot/initrd.img-6.12.12+deb12-amd64"}));
        ADD_FAILURE() << "load did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
        EXPECT_THAT(e.what(),
                    HasSubstr("cannot create a memfd for the initrd: Too many open files"));
    }
}

// The concatenated initrd is sealed: nothing can change it under the kernel.
TEST(OpenInitrd, ConcatenationIsSealed) {
    test::TempDir dir;
    fixture::writeFile(dir / "a", "AAA");
    fixture::writeFile(dir / "b", "BBB");
    UniqueFd all = openInitrd({dir / "a", dir / "b"});
    ASSERT_TRUE(all);
    int seals = ::fcntl(all.get(), F_GET_SEALS);
    EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
              F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    EXPECT_LT(::write(all.get(), "x", 1), 0);
}

TEST(SimulatedKexecTest, ChecksFilesAndRemembers) {
    test::TempDir dir;
    fixture::writeFile(dir / "vmlinuz", "kernel");
    fixture::writeFile(dir / "initrd", "initrd");
    SimulatedKexec sim;
    EXPECT_TRUE(sim.simulated());
    EXPECT_FALSE(sim.loaded());
    EXPECT_THROW(sim.load({dir / "missing", {}, ""}), Error);
    EXPECT_FALSE(sim.loaded());
    EXPECT_THROW(sim.load({dir / "vmlinuz", {dir / "missing"}, ""}), Error);
    EXPECT_FALSE(sim.loaded());
    sim.load({dir / "vmlinuz", {dir / "initrd"}, "ro"});
    EXPECT_TRUE(sim.loaded());
    sim.unload();
    EXPECT_FALSE(sim.loaded());
    sim.restore(true);
    EXPECT_TRUE(sim.loaded());
}

}  // namespace
}  // namespace kexecd
