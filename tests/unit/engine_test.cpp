// The staging policy against a fake kernel (a GMock KexecBackend whose
// default actions keep a "loaded" flag), on fake roots.
#include "engine.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine_fixture.hpp"
#include "error.hpp"
#include "log.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

using namespace kexecd::test;

TEST_F(EngineTest, StartWithAutoStageStagesTheNewest) {
    auto e = engine();
    EXPECT_EQ(e->start(), std::nullopt);
    ASSERT_EQ(loads_.size(), 1u);
    EXPECT_EQ(loads_[0].kernel.path, host("/boot/vmlinuz-" + kNew));
    EXPECT_THAT(loads_[0].initrds, ElementsAre(host("/boot/initrd.img-" + kNew)));
    EXPECT_EQ(loads_[0].cmdline, "root=UUID=0a1b2c3d ro quiet");

    Status s = e->status();
    EXPECT_TRUE(s.loaded);
    EXPECT_EQ(s.stagedVersion, kNew);
    EXPECT_EQ(s.stagedKernel, "/boot/vmlinuz-" + kNew);
    EXPECT_THAT(s.stagedInitrds, ElementsAre("/boot/initrd.img-" + kNew));
    EXPECT_EQ(s.stagedCmdline, "root=UUID=0a1b2c3d ro quiet");
    EXPECT_EQ(s.stagedOrigin, "kexecd");
    EXPECT_EQ(s.newestVersion, kNew);
    EXPECT_EQ(s.runningVersion, kOld);
    EXPECT_TRUE(s.autoStage);

    auto st = state();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->version, kNew);
    EXPECT_EQ(st->kernel, "/boot/vmlinuz-" + kNew);
    EXPECT_FALSE(st->custom);
    EXPECT_FALSE(st->simulated);
    ASSERT_EQ(st->files.size(), 2u);
    EXPECT_EQ(st->files[1].path, "/boot/initrd.img-" + kNew);
}

TEST_F(EngineTest, StartUsesConfiguredCmdline) {
    Config c;
    c.cmdlineRemove = {"quiet"};
    c.cmdlineAppend = "console=ttyS0,115200";
    auto e = engine(c);
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    EXPECT_EQ(loads_[0].cmdline, "root=UUID=0a1b2c3d ro console=ttyS0,115200");
}

TEST_F(EngineTest, StartWithoutAutoStageStagesNothing) {
    EXPECT_CALL(backend_, load(_)).Times(0);
    auto e = engine(noAutoStage());
    EXPECT_EQ(e->start(), std::nullopt);
    Status s = e->status();
    EXPECT_FALSE(s.loaded);
    EXPECT_EQ(s.stagedVersion, "");
    EXPECT_EQ(s.stagedOrigin, "");
    EXPECT_EQ(s.newestVersion, kNew);
    EXPECT_FALSE(s.autoStage);
    EXPECT_FALSE(fs::exists(stateFile()));
}

TEST_F(EngineTest, StartReportsAutoStageProblemsInsteadOfThrowing) {
    fs::remove(host("/proc/cmdline"));
    EXPECT_CALL(backend_, load(_)).Times(0);
    auto e = engine();
    auto problem = e->start();
    ASSERT_TRUE(problem.has_value());
    EXPECT_THAT(*problem, HasSubstr("/proc/cmdline"));
    EXPECT_EQ(e->status().stagedVersion, "");
}

TEST_F(EngineTest, StartWithNothingBootable) {
    removeKernel(kOld);
    removeKernel(kNew);
    auto e = engine();
    EXPECT_EQ(e->start(), std::nullopt);
    EXPECT_TRUE(loads_.empty());
    EXPECT_EQ(e->status().newestVersion, "");
}

TEST_F(EngineTest, StageEmptyStagesTheNewest) {
    auto e = engine(noAutoStage());
    e->start();
    EXPECT_EQ(e->stage("", ""), kNew);
    EXPECT_EQ(lastKernel(), image(kNew));
    EXPECT_FALSE(state()->custom);
    EXPECT_EQ(e->status().stagedVersion, kNew);
}

TEST_F(EngineTest, StageAVersion) {
    auto e = engine(noAutoStage());
    e->start();
    EXPECT_EQ(e->stage(kOld, ""), kOld);
    ASSERT_EQ(loads_.size(), 1u);
    EXPECT_EQ(lastKernel(), image(kOld));
    EXPECT_THAT(loads_[0].initrds, ElementsAre(host("/boot/initrd.img-" + kOld)));
    EXPECT_EQ(loads_[0].cmdline, "root=UUID=0a1b2c3d ro quiet");
    EXPECT_EQ(e->status().stagedVersion, kOld);
    EXPECT_TRUE(state()->custom);  // not what AutoStage would pick
}

TEST_F(EngineTest, StageUnknownVersionIsNotFound) {
    EXPECT_CALL(backend_, load(_)).Times(0);
    auto e = engine(noAutoStage());
    e->start();
    Error err = errorOf([&] { e->stage("6.99.0-1-amd64", ""); });
    EXPECT_EQ(err.code(), ErrorCode::NotFound);
    EXPECT_THAT(err.what(), HasSubstr("6.99.0-1-amd64"));
}

TEST_F(EngineTest, StageNotBootable) {
    tree_.debianKernel(kNewer, /*initrd=*/false);
    EXPECT_CALL(backend_, load(_)).Times(0);
    auto e = engine(noAutoStage());
    e->start();
    Error err = errorOf([&] { e->stage(kNewer, ""); });
    EXPECT_EQ(err.code(), ErrorCode::NotBootable);
    EXPECT_THAT(err.what(), HasSubstr("no initrd"));
}

TEST_F(EngineTest, StageNewestWithNothingBootableIsNotFound) {
    removeKernel(kOld);
    fs::remove(host("/boot/initrd.img-" + kNew));
    EXPECT_CALL(backend_, load(_)).Times(0);
    auto e = engine(noAutoStage());
    Error err = errorOf([&] { e->stage("", ""); });
    EXPECT_EQ(err.code(), ErrorCode::NotFound);
    EXPECT_THAT(err.what(), HasSubstr("no initrd"));
}

TEST_F(EngineTest, BadArgumentsNeverReachTheBackend) {
    StrictMock<MockBackend> strict;  // any call fails the test
    Engine e(Root(dir_.path()), noAutoStage(), strict);
    for (const std::string& v :
         {std::string("../../etc/passwd"), std::string(10 * 1024, '6'),
          std::string("6.1.0-13-amd64/../../x"), std::string("6.1 0"), std::string("6.1\n0")}) {
        Error err = errorOf([&] { e.stage(v, ""); });
        EXPECT_EQ(err.code(), ErrorCode::InvalidArgument) << v.substr(0, 40);
    }
    Error err = errorOf([&] { e.stage(kOld, std::string("root=/dev/vda1\ninit=/bin/sh")); });
    EXPECT_EQ(err.code(), ErrorCode::InvalidArgument);
    err = errorOf([&] { e.stage("", std::string(3000, 'x')); });
    EXPECT_EQ(err.code(), ErrorCode::InvalidArgument);
    err = errorOf([&] { e.stage("", "root=\"LABEL=a b"); });
    EXPECT_EQ(err.code(), ErrorCode::InvalidArgument);
}

TEST(ValidateVersionArgument, Rules) {
    EXPECT_NO_THROW(validateVersionArgument(""));
    EXPECT_NO_THROW(validateVersionArgument("6.12.12+deb12-amd64"));
    EXPECT_NO_THROW(validateVersionArgument("6.12~rc1_x"));
    EXPECT_NO_THROW(validateVersionArgument(std::string(255, '6')));
    EXPECT_THROW(validateVersionArgument(std::string(256, '6')), Error);
    EXPECT_THROW(validateVersionArgument("../x"), Error);
    EXPECT_THROW(validateVersionArgument("a/b"), Error);
    EXPECT_THROW(validateVersionArgument("6.1;rm"), Error);
}

TEST_F(EngineTest, CustomCmdlineIsUsedVerbatim) {
    auto e = engine(noAutoStage());
    e->start();
    const std::string custom = R"(root="LABEL=my disk"  init=/bin/sh -- single)";
    EXPECT_EQ(e->stage(kNew, custom), kNew);
    ASSERT_EQ(loads_.size(), 1u);
    EXPECT_EQ(loads_[0].cmdline, custom);
    EXPECT_EQ(e->status().stagedCmdline, custom);
    EXPECT_EQ(state()->cmdline, custom);
    EXPECT_TRUE(state()->custom);  // even though it is the newest
}

TEST_F(EngineTest, BackendFailureKeepsThePreviousStaging) {
    auto e = engine();
    e->start();
    ASSERT_EQ(e->status().stagedVersion, kNew);
    Status before = e->status();

    failLoad_ = Error(ErrorCode::KexecFailed, "kexec_file_load failed: boom");
    Error err = errorOf([&] { e->stage(kOld, ""); });
    EXPECT_EQ(err.code(), ErrorCode::KexecFailed);
    EXPECT_THAT(err.what(), HasSubstr("boom"));
    EXPECT_EQ(e->status(), before);
    EXPECT_EQ(state()->version, kNew);
    EXPECT_EQ(state()->kernel, "/boot/vmlinuz-" + kNew);
    EXPECT_TRUE(loaded_);

    failLoad_ = Error(ErrorCode::Busy, "busy");
    err = errorOf([&] { e->stage(kOld, "root=/dev/vda1"); });
    EXPECT_EQ(err.code(), ErrorCode::Busy);
    EXPECT_EQ(e->status(), before);
}

TEST_F(EngineTest, RestartWithStateAndLoadedKernelKeepsIt) {
    engine()->start();
    ASSERT_EQ(loads_.size(), 1u);
    for (Config c : {noAutoStage(), Config{}}) {
        auto e = engine(c);
        EXPECT_EQ(e->start(), std::nullopt);
        Status s = e->status();
        EXPECT_EQ(s.stagedVersion, kNew);
        EXPECT_EQ(s.stagedOrigin, "kexecd");
        EXPECT_EQ(s.stagedCmdline, "root=UUID=0a1b2c3d ro quiet");
        EXPECT_TRUE(s.loaded);
    }
    EXPECT_EQ(loads_.size(), 1u);  // nothing loaded again
    EXPECT_EQ(unloads_, 0);
}

TEST_F(EngineTest, RestartWithStateButNothingLoadedForgetsIt) {
    engine()->start();
    ASSERT_TRUE(fs::exists(stateFile()));
    loaded_ = false;  // `kexec -u` behind our back, or a reboot without /run cleanup
    auto e = engine(noAutoStage());
    e->start();
    Status s = e->status();
    EXPECT_EQ(s.stagedVersion, "");
    EXPECT_EQ(s.stagedOrigin, "");
    EXPECT_FALSE(s.loaded);
    EXPECT_FALSE(fs::exists(stateFile()));
    EXPECT_EQ(loads_.size(), 1u);
}

TEST_F(EngineTest, RestartWithStateButNothingLoadedRestagesWithAutoStage) {
    engine()->start();
    loaded_ = false;
    auto e = engine();
    e->start();
    EXPECT_EQ(loads_.size(), 2u);
    EXPECT_EQ(e->status().stagedVersion, kNew);
    EXPECT_TRUE(e->status().loaded);
}

TEST_F(EngineTest, CorruptStateIsIgnored) {
    tree_.file("/run/kexecd/state.json", "{ not json");
    loaded_ = true;
    auto e = engine(noAutoStage());
    e->start();
    EXPECT_EQ(e->status().stagedOrigin, "foreign");
}

TEST_F(EngineTest, ForeignKernelIsNeverReplacedByAutoStage) {
    loaded_ = true;  // loaded by another tool, no state file
    EXPECT_CALL(backend_, load(_)).Times(0);
    EXPECT_CALL(backend_, unload()).Times(0);
    auto e = engine();
    EXPECT_EQ(e->start(), std::nullopt);
    Status s = e->status();
    EXPECT_TRUE(s.loaded);
    EXPECT_EQ(s.stagedOrigin, "foreign");
    EXPECT_EQ(s.stagedVersion, "");

    tree_.debianKernel(kNewer);
    EXPECT_EQ(e->rescan(), "");
    EXPECT_EQ(e->status().stagedOrigin, "foreign");
    EXPECT_THAT(e->verifyStaged(), HasSubstr("another tool"));
    EXPECT_FALSE(fs::exists(stateFile()));
}

TEST_F(EngineTest, ForeignKernelCanBeReplacedOrUnstagedByHand) {
    loaded_ = true;
    auto e = engine();
    e->start();
    ASSERT_EQ(e->status().stagedOrigin, "foreign");
    EXPECT_EQ(e->stage("", ""), kNew);
    EXPECT_EQ(e->status().stagedOrigin, "kexecd");
    e->unstage();
    EXPECT_EQ(unloads_, 1);

    loaded_ = true;
    e->reconcile();
    EXPECT_EQ(e->status().stagedOrigin, "foreign");
    e->unstage();
    EXPECT_EQ(unloads_, 2);
    EXPECT_EQ(e->status().stagedOrigin, "");
}

TEST_F(EngineTest, RebootWithNothingStagedThrowsNotStaged) {
    StrictMock<MockPower> power;
    auto e = engine(noAutoStage());
    e->start();
    Error err = errorOf([&] { e->reboot(power); });
    EXPECT_EQ(err.code(), ErrorCode::NotStaged);
}

TEST_F(EngineTest, RebootAfterAnUnloadBehindOurBackThrowsNotStaged) {
    StrictMock<MockPower> power;
    auto e = engine();
    e->start();
    loaded_ = false;
    Error err = errorOf([&] { e->reboot(power); });
    EXPECT_EQ(err.code(), ErrorCode::NotStaged);
}

TEST_F(EngineTest, RebootCallsPower) {
    StrictMock<MockPower> power;
    auto e = engine();
    e->start();
    EXPECT_CALL(power, rebootKexec(kNew, true)).Times(1);
    e->reboot(power);
}

TEST_F(EngineTest, RebootIntoAForeignKernel) {
    StrictMock<MockPower> power;
    loaded_ = true;
    auto e = engine();
    e->start();
    EXPECT_CALL(power, rebootKexec(_, true)).Times(1);
    e->reboot(power);
}

TEST_F(EngineTest, RebootPowerFailurePropagates) {
    StrictMock<MockPower> power;
    auto e = engine();
    e->start();
    EXPECT_CALL(power, rebootKexec(kNew, true)).WillOnce([](const std::string&, bool) {
        throw Error(ErrorCode::Failed, "logind said no");
    });
    Error err = errorOf([&] { e->reboot(power); });
    EXPECT_EQ(err.code(), ErrorCode::Failed);
}

TEST_F(EngineTest, ListenerIsCalledOnChanges) {
    std::vector<Status> seen;
    auto e = engine();
    e->setListener([&](const Status& s) { seen.push_back(s); });
    e->start();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), e->status());
    EXPECT_EQ(seen.back().stagedVersion, kNew);
    EXPECT_TRUE(seen.back().loaded);

    size_t n = seen.size();
    e->rescan();  // no change, no call
    e->reconcile();
    e->listKernels();
    EXPECT_EQ(seen.size(), n);

    e->unstage();
    ASSERT_EQ(seen.size(), n + 1);
    EXPECT_EQ(seen.back().stagedVersion, "");
    EXPECT_FALSE(seen.back().loaded);

    tree_.debianKernel(kNewer);
    e->listKernels();  // the newest version changed
    ASSERT_EQ(seen.size(), n + 2);
    EXPECT_EQ(seen.back().newestVersion, kNewer);
}

TEST_F(EngineTest, UnstageWithNothingStagedIsNotStaged) {
    EXPECT_CALL(backend_, unload()).Times(0);
    auto e = engine(noAutoStage());
    e->start();
    Error err = errorOf([&] { e->unstage(); });
    EXPECT_EQ(err.code(), ErrorCode::NotStaged);
}

TEST_F(EngineTest, Unstage) {
    auto e = engine();
    e->start();
    e->unstage();
    EXPECT_EQ(unloads_, 1);
    EXPECT_FALSE(loaded_);
    EXPECT_FALSE(fs::exists(stateFile()));
    Status s = e->status();
    EXPECT_EQ(s.stagedVersion, "");
    EXPECT_EQ(s.stagedOrigin, "");
    EXPECT_FALSE(s.loaded);
    Error err = errorOf([&] { e->unstage(); });
    EXPECT_EQ(err.code(), ErrorCode::NotStaged);
}

TEST_F(EngineTest, ListKernels) {
    auto e = engine(noAutoStage());
    auto ks = e->listKernels();
    ASSERT_EQ(ks.size(), 2u);
    EXPECT_EQ(ks[0].version, kNew);
    EXPECT_EQ(ks[1].version, kOld);
    EXPECT_EQ(e->status().newestVersion, kNew);
}

TEST_F(EngineTest, RebootUsesKexecFlag) {
    auto flag = host("/run/kexecd/reboot-uses-kexec");
    Config c = noAutoStage();
    c.rebootUsesKexec = true;
    engine(c)->start();
    EXPECT_TRUE(fs::exists(flag));
    engine(noAutoStage())->start();
    EXPECT_FALSE(fs::exists(flag));
}

TEST_F(EngineTest, RunningVersionFromUnameWithoutOsrelease) {
    fs::remove(host("/proc/sys/kernel/osrelease"));
    auto e = engine(noAutoStage());
    e->start();
    struct utsname u {};
    ASSERT_EQ(::uname(&u), 0);
    EXPECT_EQ(e->status().runningVersion, u.release);
}

TEST_F(EngineTest, SimulatedBackendKeepsItsOwnStateFile) {
    SimulatedKexec sim;
    {
        Engine e(Root(dir_.path()), Config{}, sim);
        e.start();
        EXPECT_EQ(e.status().stagedOrigin, "simulated");
        EXPECT_EQ(e.stateFile(), host("/run/kexecd/simulated.json"));
    }
    EXPECT_TRUE(fs::exists(host("/run/kexecd/simulated.json")));
    EXPECT_FALSE(fs::exists(stateFile()));

    SimulatedKexec sim2;  // a restarted daemon
    Engine e2(Root(dir_.path()), noAutoStage(), sim2);
    e2.start();
    EXPECT_TRUE(sim2.loaded());
    EXPECT_EQ(e2.status().stagedVersion, kNew);

    // A real backend ignores the simulated record.
    auto real = engine(noAutoStage());
    real->start();
    EXPECT_EQ(real->status().stagedVersion, "");
}

}  // namespace
}  // namespace kexecd

namespace kexecd {
namespace {

TEST(StatusLine, SaysWhatIsStaged) {
    Status s;
    s.newestVersion = "6.12.12+deb12-amd64";
    EXPECT_EQ(statusLine(s), "Nothing staged; newest is 6.12.12+deb12-amd64");
    s.stagedVersion = "6.12.12+deb12-amd64";
    s.stagedOrigin = "kexecd";
    EXPECT_EQ(statusLine(s), "Staged 6.12.12+deb12-amd64 (newest)");
    s.stagedVersion = "6.1.0-13-amd64";
    EXPECT_EQ(statusLine(s), "Staged 6.1.0-13-amd64; newest is 6.12.12+deb12-amd64");
    s.stagedOrigin = "simulated";
    EXPECT_EQ(statusLine(s), "Staged 6.1.0-13-amd64 (simulated); newest is 6.12.12+deb12-amd64");
    s = Status{};
    s.stagedOrigin = "foreign";
    EXPECT_EQ(statusLine(s), "A kernel loaded by another tool is staged");
    EXPECT_EQ(statusLine(Status{}), "Nothing staged; no bootable kernel in /boot");
}

}  // namespace
}  // namespace kexecd

namespace kexecd::test {
namespace {

// Nothing polls the kernel any more: a reader's look picks up what another
// tool did, publishes only when something changed, and the property reads
// that PropertiesChanged makes from inside the listener do not reconcile
// again (that thread holds the engine's lock).
TEST_F(EngineTest, ReadersReconcileWhatOtherToolsDid) {
    auto e = engine(noAutoStage());
    e->start();
    int published = 0;
    e->setListener([&](const Status&) {
        ++published;
        e->reconcileIfIdle();  // as a getter called by the signal would
    });
    e->reconcileIfIdle();
    EXPECT_EQ(published, 0);  // nothing changed: nothing to say

    loaded_ = true;  // kexec -l by hand
    e->reconcileIfIdle();
    EXPECT_EQ(e->status().stagedOrigin, "foreign");
    EXPECT_TRUE(e->status().loaded);
    EXPECT_EQ(published, 1);
    e->reconcileIfIdle();
    EXPECT_EQ(published, 1);

    EXPECT_EQ(e->stage("", ""), kNew);
    published = 0;
    loaded_ = false;  // kexec -u by hand
    e->reconcileIfIdle();
    EXPECT_EQ(e->status().stagedOrigin, "");
    EXPECT_FALSE(e->status().loaded);
    EXPECT_FALSE(fs::exists(stateFile()));
    EXPECT_EQ(published, 1);
}

}  // namespace
}  // namespace kexecd::test
