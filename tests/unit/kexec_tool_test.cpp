// kexec-tools for kernels without kexec_file_load: run directly, or a load
// in a transient unit through systemd-run (stand-in scripts here; the VM
// test runs the real one).
#include "kexec_tool.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"
#include "unique_fd.hpp"

namespace kexecd {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ReplaceFdPathsTest, WholeArgumentsAndAfterEquals) {
    std::vector<std::string> args = {"-l",
                                     "/proc/self/fd/5",
                                     "--initrd=/proc/self/fd/7",
                                     "--command-line=root=/dev/vda x=/proc/self/fd/5 y",
                                     "/proc/self/fd/9",
                                     "/proc/self/fd/5x"};
    EXPECT_THAT(replaceFdPaths(args, {{5, "/run/kexecd/load/a"}, {7, "/run/kexecd/load/b"}}),
                ElementsAre("-l", "/run/kexecd/load/a", "--initrd=/run/kexecd/load/b",
                            // Inside a command line it is text, not a file.
                            "--command-line=root=/dev/vda x=/proc/self/fd/5 y",
                            // Not one of the copies: left alone.
                            "/proc/self/fd/9", "/proc/self/fd/5x"));
}

TEST(TransientUnitCommandTest, WaitsSandboxesAndRunsTheTool) {
    auto cmd = transientUnitCommand("/usr/bin/systemd-run", "kexecd-load-1-1.service",
                                    "/usr/sbin/kexec", {"-l", "/k", "--initrd=/i"});
    ASSERT_GE(cmd.size(), 5u);
    EXPECT_EQ(cmd[0], "/usr/bin/systemd-run");
    for (const char* want : {"--wait", "--pipe", "--collect", "--unit=kexecd-load-1-1.service",
                             "--property=DefaultDependencies=no", "--property=NoNewPrivileges=yes",
                             "--property=PrivateNetwork=yes", "--property=ProtectSystem=strict"})
        EXPECT_THAT(cmd, Contains(want));
    EXPECT_THAT(cmd, Contains("--property=CapabilityBoundingSet=CAP_SYS_BOOT CAP_SYS_ADMIN "
                              "CAP_SYS_RAWIO CAP_SYSLOG"));
    // The tool and its arguments last, after "--", untouched.
    std::vector<std::string> tail(cmd.end() - 5, cmd.end());
    EXPECT_THAT(tail, ElementsAre("--", "/usr/sbin/kexec", "-l", "/k", "--initrd=/i"));
}

class KexecToolRunTest : public ::testing::Test {
  protected:
    KexecToolRunTest() {
        // Stand-ins: each records its arguments and the contents of every
        // argument (or part after '=') that names a readable file.
        const std::string record =
            "#!/bin/sh\n"
            "log=\"$(dirname \"$0\")/$(basename \"$0\").log\"\n"
            "for a in \"$@\"; do\n"
            "  echo \"ARG $a\" >> \"$log\"\n"
            "  f=${a#*=}\n"
            "  [ -f \"$f\" ] && [ -r \"$f\" ] && echo \"DATA $(cat \"$f\")\" >> \"$log\"\n"
            "done\n"
            "exit ${STATUS:-0}\n";
        fixture::writeFile(dir_ / "kexec", record);
        fixture::writeFile(dir_ / "systemd-run", "#!/bin/sh\nSTATUS=7\n" + record.substr(10));
        fs::permissions(dir_ / "kexec", fs::perms::owner_all);
        fs::permissions(dir_ / "systemd-run", fs::perms::owner_all);
        opt_.tools = {(dir_ / "missing").string(), (dir_ / "kexec").string()};
        opt_.loadDir = (dir_ / "load").string();
    }

    static UniqueFd memfd(const std::string& data) {
        UniqueFd fd(::memfd_create("test", MFD_CLOEXEC));
        EXPECT_EQ(::write(fd.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
        return fd;
    }
    std::string log(const std::string& tool) const {
        std::ifstream in(dir_ / (tool + ".log"));
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    static std::string fdPath(const UniqueFd& fd) {
        return "/proc/self/fd/" + std::to_string(fd.get());
    }

    test::TempDir dir_;
    KexecToolOptions opt_;
};

TEST_F(KexecToolRunTest, DirectlyTheToolReadsTheKeptFds) {
    auto sys = makeLinuxSyscalls(opt_);
    UniqueFd k = memfd("KERNEL"), i = memfd("INITRD");
    EXPECT_EQ(sys->runKexecTool({"-l", fdPath(k), "--initrd=" + fdPath(i), "--command-line=c"},
                                {k.get(), i.get()}),
              0);
    std::string l = log("kexec");
    EXPECT_THAT(l, HasSubstr("ARG -l\nARG " + fdPath(k) + "\nDATA KERNEL\n"));
    EXPECT_THAT(l, HasSubstr("DATA INITRD"));
    EXPECT_FALSE(fs::exists(dir_ / "systemd-run.log"));
}

TEST_F(KexecToolRunTest, UnderSystemdALoadRunsInATransientUnitFromCopies) {
    opt_.systemdRun = (dir_ / "systemd-run").string();
    auto sys = makeLinuxSyscalls(opt_);
    UniqueFd k = memfd("KERNEL"), i = memfd("INITRD");
    // systemd-run's exit status is the unit's (7 from the stand-in).
    EXPECT_EQ(sys->runKexecTool({"-l", fdPath(k), "--initrd=" + fdPath(i), "--command-line=c"},
                                {k.get(), i.get()}),
              7);
    std::string l = log("systemd-run");
    EXPECT_THAT(l, HasSubstr("ARG --unit=kexecd-load-" + std::to_string(::getpid()) + "-"));
    EXPECT_THAT(l, HasSubstr("ARG --\nARG " + (dir_ / "kexec").string() + "\n"));
    EXPECT_THAT(l, HasSubstr("ARG -l\nARG " + opt_.loadDir + "/"));
    EXPECT_THAT(l, HasSubstr("DATA KERNEL"));
    EXPECT_THAT(l, HasSubstr("ARG --initrd=" + opt_.loadDir + "/"));
    EXPECT_THAT(l, HasSubstr("DATA INITRD"));
    EXPECT_THAT(l, Not(HasSubstr("/proc/self/fd/")));
    // Root only, and gone afterwards.
    struct stat st {};
    ASSERT_EQ(::stat(opt_.loadDir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_TRUE(fs::is_empty(opt_.loadDir));
    EXPECT_FALSE(fs::exists(dir_ / "kexec.log"));
}

TEST_F(KexecToolRunTest, UnloadNeedsNoTransientUnit) {
    opt_.systemdRun = (dir_ / "systemd-run").string();
    EXPECT_EQ(makeLinuxSyscalls(opt_)->runKexecTool({"-u"}, {}), 0);
    EXPECT_THAT(log("kexec"), HasSubstr("ARG -u"));
    EXPECT_FALSE(fs::exists(dir_ / "systemd-run.log"));
}

TEST_F(KexecToolRunTest, NoToolIsENOENT) {
    opt_.tools = {(dir_ / "missing").string()};
    opt_.systemdRun = (dir_ / "systemd-run").string();
    EXPECT_EQ(makeLinuxSyscalls(opt_)->runKexecTool({"-l", "/k"}, {}), -ENOENT);
    EXPECT_FALSE(fs::exists(dir_ / "systemd-run.log"));
}

TEST_F(KexecToolRunTest, CopiesThatCannotBeMadeAreAClearErrorAndLeaveNothing) {
    opt_.systemdRun = (dir_ / "systemd-run").string();
    opt_.loadDir = (dir_ / "no" / "such" / "dir").string();
    UniqueFd k = memfd("KERNEL");
    try {
        makeLinuxSyscalls(opt_)->runKexecTool({"-l", fdPath(k)}, {k.get()});
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
        EXPECT_THAT(e.what(), HasSubstr("cannot create " + opt_.loadDir));
    }
    EXPECT_FALSE(fs::exists(dir_ / "systemd-run.log"));
}

}  // namespace
}  // namespace kexecd
