// Rescan and the kexec.target check: how the staged kernel follows /boot
// (a newer kernel, a rebuilt initrd, a removed kernel, an unload behind
// kexecd's back).
#include "engine_fixture.hpp"
#include "state.hpp"

namespace kexecd {
namespace {

using namespace kexecd::test;

TEST_F(EngineTest, RescanStagesANewerKernel) {
    auto e = engine();
    e->start();
    ASSERT_EQ(lastKernel(), image(kNew));
    EXPECT_EQ(e->rescan(), kNew);  // nothing changed
    EXPECT_EQ(loads_.size(), 1u);

    tree_.debianKernel(kNewer);
    EXPECT_EQ(e->rescan(), kNewer);
    EXPECT_EQ(loads_.size(), 2u);
    EXPECT_EQ(lastKernel(), image(kNewer));
    EXPECT_EQ(e->status().stagedVersion, kNewer);
    EXPECT_EQ(e->status().newestVersion, kNewer);
    EXPECT_EQ(state()->version, kNewer);
}

TEST_F(EngineTest, RescanIgnoresANewerKernelThatIsNotBootableYet) {
    auto e = engine();
    e->start();
    tree_.debianKernel(kNewer, /*initrd=*/false);  // the initrd is still being built
    EXPECT_EQ(e->rescan(), kNew);
    EXPECT_EQ(loads_.size(), 1u);
    tree_.file("/boot/initrd.img-" + kNewer, "initrd");
    EXPECT_EQ(e->rescan(), kNewer);
}

TEST_F(EngineTest, RescanKeepsAKernelChosenByHand) {
    auto e = engine();
    e->start();
    EXPECT_EQ(e->stage(kOld, ""), kOld);
    tree_.debianKernel(kNewer);
    EXPECT_EQ(e->rescan(), kOld);
    EXPECT_EQ(lastKernel(), image(kOld));
    EXPECT_EQ(e->status().stagedVersion, kOld);
    EXPECT_EQ(e->status().newestVersion, kNewer);

    // A custom command line on the newest kernel is also left alone.
    EXPECT_EQ(e->stage(kNewer, "root=/dev/vda9"), kNewer);
    tree_.debianKernel("6.14.0-1-amd64");
    EXPECT_EQ(e->rescan(), kNewer);
    EXPECT_EQ(loads_.back().cmdline, "root=/dev/vda9");
}

TEST_F(EngineTest, RescanRestagesWhenTheInitrdIsReplaced) {
    auto e = engine();
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    rebuildInitrd(kNew);
    EXPECT_EQ(e->rescan(), kNew);
    ASSERT_EQ(loads_.size(), 2u);
    EXPECT_EQ(lastKernel(), image(kNew));
    EXPECT_THAT(loads_[1].initrds, ElementsAre(host("/boot/initrd.img-" + kNew)));
    // The new identities were recorded: nothing to do next time.
    EXPECT_EQ(e->rescan(), kNew);
    EXPECT_EQ(loads_.size(), 2u);
    EXPECT_EQ(state()->files[1].id, *statFileId(host("/boot/initrd.img-" + kNew)));
}

TEST_F(EngineTest, RescanRestagesACustomKernelWithItsCmdline) {
    auto e = engine();
    e->start();
    e->stage(kOld, "root=/dev/vda9 custom");
    rebuildInitrd(kOld);
    EXPECT_EQ(e->rescan(), kOld);
    ASSERT_EQ(loads_.size(), 3u);
    EXPECT_EQ(lastKernel(), image(kOld));
    EXPECT_EQ(loads_.back().cmdline, "root=/dev/vda9 custom");
    EXPECT_TRUE(state()->custom);
}

TEST_F(EngineTest, RescanReplacesARemovedKernelWithTheNewest) {
    auto e = engine();
    e->start();
    removeKernel(kNew);
    EXPECT_EQ(e->rescan(), kOld);
    EXPECT_EQ(lastKernel(), image(kOld));
    EXPECT_EQ(e->status().stagedVersion, kOld);
    EXPECT_EQ(unloads_, 0);
}

TEST_F(EngineTest, RescanReplacesARemovedHandChosenKernel) {
    tree_.debianKernel(kNewer);
    auto e = engine();
    e->start();
    e->stage(kOld, "");
    removeKernel(kOld);
    EXPECT_EQ(e->rescan(), kNewer);
    EXPECT_FALSE(state()->custom);
}

TEST_F(EngineTest, RescanUnstagesARemovedKernelWithoutAutoStage) {
    auto e = engine(noAutoStage());
    e->start();
    e->stage("", "");
    ASSERT_TRUE(loaded_);
    removeKernel(kNew);
    EXPECT_EQ(e->rescan(), "");
    EXPECT_EQ(unloads_, 1);
    EXPECT_FALSE(loaded_);
    EXPECT_EQ(e->status().stagedVersion, "");
    EXPECT_FALSE(fs::exists(stateFile()));
    EXPECT_EQ(loads_.size(), 1u);
}

TEST_F(EngineTest, RescanUnstagesAKernelWhoseModulesWentAway) {
    auto e = engine(noAutoStage());
    e->start();
    e->stage(kOld, "");
    fs::remove_all(host("/lib/modules/" + kOld));
    EXPECT_EQ(e->rescan(), "");
    EXPECT_EQ(unloads_, 1);
}

TEST_F(EngineTest, RescanWithoutAutoStageDoesNotStageNewer) {
    auto e = engine(noAutoStage());
    e->start();
    e->stage("", "");
    tree_.debianKernel(kNewer);
    EXPECT_EQ(e->rescan(), kNew);
    EXPECT_EQ(loads_.size(), 1u);
    EXPECT_EQ(e->status().newestVersion, kNewer);
}

TEST_F(EngineTest, RescanNoticesAnUnloadBehindOurBack) {
    auto e = engine(noAutoStage());
    e->start();
    e->stage("", "");
    loaded_ = false;
    EXPECT_EQ(e->rescan(), "");
    EXPECT_EQ(e->status().stagedVersion, "");
    EXPECT_FALSE(fs::exists(stateFile()));
}

TEST_F(EngineTest, VerifyStaged) {
    auto e = engine();
    EXPECT_EQ(e->verifyStaged(), "nothing staged");
    e->start();
    EXPECT_EQ(e->verifyStaged(), "staged kernel " + kNew + " matches /boot");
    EXPECT_EQ(loads_.size(), 1u);

    rebuildInitrd(kNew);
    EXPECT_EQ(e->verifyStaged(), "files changed; staged again: " + kNew);
    EXPECT_EQ(loads_.size(), 2u);
    EXPECT_EQ(lastKernel(), image(kNew));
    EXPECT_EQ(e->verifyStaged(), "staged kernel " + kNew + " matches /boot");

    removeKernel(kNew);
    EXPECT_EQ(e->verifyStaged(), "staged kernel " + kNew + " is gone; staged " + kOld + " instead");
    EXPECT_EQ(lastKernel(), image(kOld));
    EXPECT_EQ(unloads_, 0);
}

TEST_F(EngineTest, VerifyStagedInAFreshProcess) {
    // kexecd --verify-staged runs as its own process from kexec.target.
    engine()->start();
    rebuildInitrd(kNew);
    auto e = engine();
    EXPECT_EQ(e->verifyStaged(), "files changed; staged again: " + kNew);
    EXPECT_EQ(loads_.size(), 2u);
}

TEST_F(EngineTest, VerifyStagedNeverUnstages) {
    auto e = engine(noAutoStage());
    e->start();
    e->stage(kOld, "");
    removeKernel(kOld);
    removeKernel(kNew);
    EXPECT_THAT(e->verifyStaged(), HasSubstr("leaving it staged"));
    EXPECT_EQ(unloads_, 0);
    EXPECT_TRUE(loaded_);
    EXPECT_EQ(e->status().stagedVersion, kOld);
}

}  // namespace
}  // namespace kexecd
