// Staging a unified kernel image: its sections reach the kernel, as sealed
// memfds, with the UKI's own command line.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "engine_fixture.hpp"
#include "error.hpp"
#include "kexec_mocks.hpp"
#include "pe.hpp"
#include "pe_builder.hpp"

namespace kexecd {
namespace {

using namespace kexecd::test;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;

const std::string kUkiPath = "/efi/EFI/Linux/debian-" + kNewer + ".efi";

std::string ukiFor(const std::string& v, const std::string& cmdline) {
    return test::buildPe({{".osrel", "ID=debian\n"},
                          {".cmdline", cmdline},
                          {".uname", v},
                          {".ucode", "UCODE-BLOB"},
                          {".initrd", "INITRD-OF-" + v},
                          {".linux", fixture::bzImage(v)}});
}

FilePart sectionOf(const fs::path& file, const std::string& pe, const std::string& name) {
    auto parsed = parsePeSections(pe, pe.size());
    const PeSection* s = findSection(parsed.sections, name);
    EXPECT_NE(s, nullptr) << name;
    return s ? FilePart(file, s->offset, s->size) : FilePart();
}

class EngineUkiTest : public EngineTest {
  protected:
    EngineUkiTest() {
        pe_ = ukiFor(kNewer, "root=UUID=feed ro quiet\n");
        tree_.file(kUkiPath, pe_);
        tree_.file("/lib/modules/" + kNewer + "/modules.dep", "");
    }
    std::string pe_;
};

TEST_F(EngineUkiTest, NewestUkiIsStagedFromItsSections) {
    Config c;
    c.cmdlineAppend = "console=ttyS0";
    auto e = engine(c);
    EXPECT_EQ(e->start(), std::nullopt);
    ASSERT_EQ(loads_.size(), 1u);
    const fs::path efi = host(kUkiPath);
    EXPECT_EQ(loads_[0].kernel, sectionOf(efi, pe_, ".linux"));
    EXPECT_THAT(loads_[0].initrds,
                ElementsAre(sectionOf(efi, pe_, ".ucode"), sectionOf(efi, pe_, ".initrd")));
    // The UKI's .cmdline, not the running kernel's, with CmdlineAppend=.
    EXPECT_EQ(loads_[0].cmdline, "root=UUID=feed ro quiet console=ttyS0");
    Status s = e->status();
    EXPECT_EQ(s.stagedVersion, kNewer);
    EXPECT_EQ(s.stagedKernel, kUkiPath);
    // What the kernel holds: the sections, not the stub and the rest of the file.
    EXPECT_EQ(s.stagedBytes, fixture::bzImage(kNewer).size() + std::string("UCODE-BLOB").size() +
                                 ("INITRD-OF-" + kNewer).size());
    EXPECT_LT(s.stagedBytes, fs::file_size(efi));
}

TEST_F(EngineUkiTest, ChangedUkiIsStagedAgain) {
    auto e = engine();
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    tree_.file(kUkiPath + ".tmp", ukiFor(kNewer, "root=UUID=beef ro"));
    fs::rename(host(kUkiPath + ".tmp"), host(kUkiPath));
    e->rescan();
    ASSERT_EQ(loads_.size(), 2u);
    EXPECT_EQ(loads_[1].cmdline, "root=UUID=beef ro");
}

TEST_F(EngineUkiTest, AddOnInitrdsComeFromTheirOwnFiles) {
    const std::string addon = kUkiPath + ".extra.d/fw.addon.efi";
    const std::string addonPe = test::buildPe({{".ucode", "ADDON-UC"}, {".initrd", "ADDON-IN"}});
    tree_.file(addon, addonPe);
    auto e = engine();
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    const fs::path efi = host(kUkiPath), a = host(addon);
    EXPECT_THAT(loads_[0].initrds,
                ElementsAre(sectionOf(a, addonPe, ".ucode"), sectionOf(efi, pe_, ".ucode"),
                            sectionOf(efi, pe_, ".initrd"), sectionOf(a, addonPe, ".initrd")));
    // The add-on is checked like the UKI: replaced, it is staged again.
    tree_.file(addon + ".tmp", test::buildPe({{".initrd", "NEWER"}}));
    fs::rename(host(addon + ".tmp"), host(addon));
    EXPECT_THAT(e->verifyStaged(), HasSubstr("files changed; staged again"));
    ASSERT_EQ(loads_.size(), 2u);
    EXPECT_EQ(loads_[1].initrds.size(), 3u);
}

TEST_F(EngineUkiTest, NewAddOnWithAnInitrdIsStagedAgain) {
    auto e = engine();
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    // No .cmdline: only the set of files says that something changed.
    tree_.file(kUkiPath + ".extra.d/fw.addon.efi", test::buildPe({{".initrd", "FW"}}));
    e->rescan();
    ASSERT_EQ(loads_.size(), 2u);
    EXPECT_EQ(loads_[1].initrds.size(), 3u);
}

TEST_F(EngineUkiTest, UkiThatCannotBeBootedAsStagedIsUnstagedBeforeTheKexec) {
    // A credential systemd-stub would pass appears after staging, unseen by
    // the watch: the check before the kexec stages what AutoStage picks now
    // (the fixture's newest /boot kernel), never the UKI without it.
    auto e = engine();
    e->start();
    ASSERT_EQ(e->status().stagedKernel, kUkiPath);
    tree_.file(kUkiPath + ".extra.d/secret.cred", "x");
    std::string r = e->verifyStaged();
    EXPECT_THAT(r, HasSubstr("cannot be booted any more (systemd-stub would pass"));
    EXPECT_EQ(e->status().stagedKernel, "/boot/vmlinuz-" + kNew);
}

TEST_F(EngineUkiTest, UkiOnAnEspUnmountedByTheShutdownIsKept) {
    // kexecd-verify runs on the way down, where the ESP (here /efi) may be
    // unmounted already: the UKI is out of sight, not gone, and must not be
    // swapped for the newest kernel left in /boot. An unmounted partition is
    // told apart from a deleted file by the device: the file's was the
    // ESP's, the directory there now is on the root file system.
    auto e = engine();
    e->start();
    ASSERT_EQ(e->status().stagedKernel, kUkiPath);
    Staged st = *state();
    for (auto& f : st.files) f.id.dev += 1;  // as if on a file system of its own
    saveState(stateFile(), st);
    fs::remove_all(host("/efi/EFI"));
    std::string r = engine()->verifyStaged();
    EXPECT_EQ(r, "staged kernel " + kNewer +
                     " kept: /efi is not mounted any more (unmounted by the shutdown), its files "
                     "cannot be checked");
    EXPECT_EQ(loads_.size(), 1u);
    EXPECT_EQ(state()->kernel, kUkiPath);

    // Deleted from a partition still mounted (same device): gone, and
    // replaced as before.
    st.files.front().id.dev -= 1;
    saveState(stateFile(), st);
    EXPECT_THAT(engine()->verifyStaged(), HasSubstr("is gone; staged " + kNew + " instead"));
}

// The real load path: what the kernel gets behind the fds is the sections'
// bytes, in sealed memfds.
class UkiLoadTest : public ::testing::Test {
  protected:
    test::TempDir dir_;
};

TEST_F(UkiLoadTest, SectionsReachTheKernelAsSealedMemfds) {
    const std::string pe = ukiFor(kNewer, "x");
    fixture::writeFile(dir_ / "uki.efi", pe);
    ::testing::StrictMock<MockSyscalls> sys;
    LinuxKexec kexec(Root(dir_.path()), sys);
    EXPECT_CALL(sys, kexecFileLoad(_, _, "x", 0ul))
        .WillOnce(Invoke([&](int k, int i, const std::string&, unsigned long) {
            EXPECT_EQ(readFd(k), fixture::bzImage(kNewer));
            EXPECT_EQ(readFd(i), "UCODE-BLOB" + std::string("INITRD-OF-") + kNewer);
            EXPECT_TRUE(sealedForGood(k));
            EXPECT_TRUE(sealedForGood(i));
            return 0;
        }));
    kexec.load(
        {sectionOf(dir_ / "uki.efi", pe, ".linux"),
         {sectionOf(dir_ / "uki.efi", pe, ".ucode"), sectionOf(dir_ / "uki.efi", pe, ".initrd")},
         "x"});
}

TEST_F(UkiLoadTest, KexecToolGetsTheKernelMemfd) {
    const std::string pe = ukiFor(kNewer, "x");
    fixture::writeFile(dir_ / "uki.efi", pe);
    ::testing::StrictMock<MockSyscalls> sys;
    LinuxKexec kexec(Root(dir_.path()), sys);
    EXPECT_CALL(sys, kexecFileLoad(_, _, _, _)).WillOnce(Return(-ENOSYS));
    EXPECT_CALL(sys, runKexecTool(_, _))
        .WillOnce(Invoke([&](const std::vector<std::string>& args, const std::vector<int>& keep) {
            EXPECT_EQ(args.size(), 4u);
            EXPECT_EQ(args[0], "-l");
            // /proc/self/fd/N of a kept fd holding the .linux bytes.
            EXPECT_EQ(args[1].rfind("/proc/self/fd/", 0), 0u) << args[1];
            int fd = std::stoi(args[1].substr(14));
            EXPECT_NE(std::find(keep.begin(), keep.end(), fd), keep.end());
            EXPECT_EQ(readFd(fd), fixture::bzImage(kNewer));
            return 0;
        }));
    kexec.load({sectionOf(dir_ / "uki.efi", pe, ".linux"),
                {sectionOf(dir_ / "uki.efi", pe, ".initrd")},
                "x"});
}

TEST_F(UkiLoadTest, RejectedSignatureNamesTheKernelInsideTheUki) {
    const std::string pe = ukiFor(kNewer, "x");
    fixture::writeFile(dir_ / "uki.efi", pe);
    ::testing::StrictMock<MockSyscalls> sys;
    LinuxKexec kexec(Root(dir_.path()), sys);
    EXPECT_CALL(sys, kexecFileLoad(_, _, _, _)).WillOnce(Return(-EKEYREJECTED));
    try {
        kexec.load({sectionOf(dir_ / "uki.efi", pe, ".linux"), {}, "x"});
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
        EXPECT_THAT(e.what(), HasSubstr("kexec_file_load of the kernel inside " +
                                        (dir_ / "uki.efi").string() + " failed"));
        EXPECT_THAT(e.what(), HasSubstr("rejected the image's signature"));
        EXPECT_THAT(e.what(), HasSubstr("must carry a valid signature of its own"));
    }
}

TEST_F(UkiLoadTest, SectionPastTheEndIsAClearError) {
    fixture::writeFile(dir_ / "uki.efi", "short");
    ::testing::StrictMock<MockSyscalls> sys;
    LinuxKexec kexec(Root(dir_.path()), sys);
    try {
        kexec.load({FilePart(dir_ / "uki.efi", 2, 100), {}, "x"});
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::KexecFailed);
        EXPECT_THAT(e.what(), HasSubstr("ends past the end of the file"));
    }
}

TEST_F(UkiLoadTest, SimulatedLoadChecksTheSections) {
    fixture::writeFile(dir_ / "uki.efi", "short");
    SimulatedKexec sim;
    EXPECT_THROW(sim.load({FilePart(dir_ / "uki.efi", 2, 100), {}, ""}), Error);
    EXPECT_FALSE(sim.loaded());
    sim.load({FilePart(dir_ / "uki.efi", 1, 3), {FilePart(dir_ / "uki.efi", 0, 5)}, ""});
    EXPECT_TRUE(sim.loaded());
}

}  // namespace
}  // namespace kexecd
