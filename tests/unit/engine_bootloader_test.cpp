// A fast reboot boots what a cold reboot would: the boot loader's command
// line and default kernel where asked, never a parameter typed at the boot
// menu, and through the firmware when the next boot needs it.
#include "efivars.hpp"
#include "engine_fixture.hpp"
#include "test_data.hpp"

namespace kexecd {
namespace {

using namespace kexecd::test;

std::string grubCfg() {
    return testData("grub-debian12.cfg");
}

class EngineBootLoaderTest : public EngineTest {
  protected:
    EngineBootLoaderTest() {
        tree_.file("/boot/grub/grub.cfg", grubCfg());
        tree_.cmdline(
            "BOOT_IMAGE=/boot/vmlinuz-" + kOld +
            " root=UUID=0a1b2c3d ro console=ttyS0 quiet single systemd.unit=rescue.target");
    }
    void pinOld() {
        std::string cfg = grubCfg();
        cfg.replace(cfg.find("set default=\"0\""), 15, "set default=\"${saved_entry}\"");
        tree_.file("/boot/grub/grub.cfg", cfg);
        tree_.file("/boot/grub/grubenv",
                   grubenvBlock("saved_entry=gnulinux-advanced-0a1b2c3d>gnulinux-" + kOld +
                                "-advanced-0a1b2c3d\n"));
    }
    NiceMock<MockPower> power_;
};

TEST_F(EngineBootLoaderTest, ParametersTypedAtTheMenuAreNotCarriedOver) {
    auto e = engine();
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    EXPECT_EQ(loads_[0].cmdline, "root=UUID=0a1b2c3d ro console=ttyS0 quiet");
}

TEST_F(EngineBootLoaderTest, WithoutBootLoaderConfigTheOneShotListIsDropped) {
    fs::remove(host("/boot/grub/grub.cfg"));
    tree_.cmdline("root=/dev/vda1 ro rd.break=pre-mount init=/bin/sh quiet -- single");
    auto e = engine();
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    EXPECT_EQ(loads_[0].cmdline, "root=/dev/vda1 ro quiet -- single");
}

TEST_F(EngineBootLoaderTest, CmdlineSourceBootloaderTakesTheTargetsEntry) {
    std::string cfg = grubCfg();
    // update-grub after GRUB_CMDLINE_LINUX gained a parameter.
    for (size_t p; (p = cfg.find("console=ttyS0 quiet")) != std::string::npos;)
        cfg.replace(p, 19, "console=ttyS0 mitigations=auto quiet");
    tree_.file("/boot/grub/grub.cfg", cfg);
    Config c;
    c.cmdlineFromBootLoader = true;
    c.cmdlineAppend = "kexecd.test=1";
    auto e = engine(c);
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    EXPECT_EQ(loads_[0].cmdline,
              "root=UUID=0a1b2c3d ro console=ttyS0 mitigations=auto quiet kexecd.test=1");
    EXPECT_EQ(e->status().bootLoaderCmdline,
              "root=UUID=0a1b2c3d ro console=ttyS0 mitigations=auto quiet");
    EXPECT_EQ(e->status().bootLoader, "GRUB (/boot/grub/grub.cfg)");
}

TEST_F(EngineBootLoaderTest, UpdateGrubReachesTheStagedKernelOnRescanAndBeforeTheKexec) {
    Config c;
    c.cmdlineFromBootLoader = true;
    auto e = engine(c);
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    auto rewrite = [&](const std::string& from, const std::string& to) {
        std::string cfg = grubCfg();
        for (size_t p = 0; (p = cfg.find(from, p)) != std::string::npos; p += to.size())
            cfg.replace(p, from.size(), to);
        tree_.file("/boot/grub/grub.cfg", cfg);
    };
    rewrite("console=ttyS0 quiet", "console=ttyS0 quiet new=1");
    EXPECT_EQ(e->rescan(), kNew);
    ASSERT_EQ(loads_.size(), 2u);
    EXPECT_EQ(loads_[1].cmdline, "root=UUID=0a1b2c3d ro console=ttyS0 quiet new=1");
    EXPECT_EQ(e->rescan(), kNew);
    EXPECT_EQ(loads_.size(), 2u);  // unchanged: nothing staged again

    rewrite("console=ttyS0 quiet", "console=ttyS0 quiet newer=2");
    EXPECT_THAT(e->verifyStaged(), HasSubstr("the derived command line changed; staged again"));
    ASSERT_EQ(loads_.size(), 3u);
    EXPECT_EQ(loads_[2].cmdline, "root=UUID=0a1b2c3d ro console=ttyS0 quiet newer=2");

    // A command line chosen by hand is kept.
    e->stage(kNew, "root=/dev/vda1 custom=1");
    rewrite("console=ttyS0 quiet", "console=ttyS0 quiet third=3");
    e->rescan();
    EXPECT_EQ(loads_.back().cmdline, "root=/dev/vda1 custom=1");
}

TEST_F(EngineBootLoaderTest, CmdlineSourceBootloaderWithoutEntryFallsBack) {
    fs::remove(host("/boot/grub/grub.cfg"));
    Config c;
    c.cmdlineFromBootLoader = true;
    auto e = engine(c);
    e->start();
    ASSERT_EQ(loads_.size(), 1u);
    EXPECT_EQ(loads_[0].cmdline, "root=UUID=0a1b2c3d ro console=ttyS0 quiet");
    EXPECT_EQ(e->status().bootLoader, "");
}

TEST_F(EngineBootLoaderTest, KernelDefaultStagesWhatGrubWouldBoot) {
    pinOld();
    Config c;
    c.bootLoaderDefaultKernel = true;
    auto e = engine(c);
    e->start();
    EXPECT_EQ(e->status().stagedVersion, kOld);
    EXPECT_EQ(e->status().defaultVersion, kOld);
    EXPECT_EQ(e->status().newestVersion, kNew);
    EXPECT_FALSE(state()->custom);  // AutoStage's own choice: it follows GRUB's default
    EXPECT_EQ(e->stage("", ""), kOld);
    EXPECT_EQ(e->stageNewest(), kNew);
    EXPECT_TRUE(state()->custom);
    // Default back to the newest (grub-set-default 0): AutoStage follows.
    tree_.file("/boot/grub/grub.cfg", grubCfg());
    auto e2 = engine(c);
    e2->unstage();
    e2->rescan();
    EXPECT_EQ(e2->status().stagedVersion, kNew);
}

TEST_F(EngineBootLoaderTest, KernelNewestIgnoresTheDefaultButReportsIt) {
    pinOld();
    auto e = engine();
    e->start();
    EXPECT_EQ(e->status().stagedVersion, kNew);
    EXPECT_EQ(e->status().defaultVersion, kOld);
}

TEST_F(EngineBootLoaderTest, KernelDefaultNotBootableFallsBackToNewest) {
    pinOld();
    fs::remove_all(host("/lib/modules/" + kOld));
    Config c;
    c.bootLoaderDefaultKernel = true;
    auto e = engine(c);
    e->start();
    EXPECT_EQ(e->status().stagedVersion, kNew);
}

TEST_F(EngineBootLoaderTest, VerifyStagedStepsAsideForBootNext) {
    auto e = engine();
    e->start();
    ASSERT_TRUE(loaded_);
    tree_.file("/sys/firmware/efi/efivars/BootNext-" + std::string(kEfiGlobalGuid),
               std::string("\x07\0\0\0\x04\0", 6));
    std::string msg = e->verifyStaged();
    EXPECT_THAT(msg, HasSubstr("stepped aside (EFI BootNext is set (Boot0004)"));
    EXPECT_FALSE(loaded_);
    EXPECT_FALSE(fs::exists(stateFile()));
    EXPECT_EQ(e->status().stagedVersion, "");
}

TEST_F(EngineBootLoaderTest, RebootStepsAsideForNoKexecReboot) {
    auto e = engine();
    e->start();
    tree_.file("/no-kexec-reboot", "");
    EXPECT_CALL(power_, rebootKexec(_, true)).Times(0);
    EXPECT_CALL(power_, rebootFirmware(HasSubstr("/no-kexec-reboot"), true)).Times(1);
    e->reboot(power_);
    EXPECT_FALSE(loaded_);
}

TEST_F(EngineBootLoaderTest, GrubRebootOneShotStepsAsideUnlessTurnedOff) {
    tree_.file("/boot/grub/grubenv", grubenvBlock("next_entry=1>3\n"));
    Config c;
    c.stepAside = false;
    auto e = engine(c);
    e->start();
    EXPECT_CALL(power_, rebootKexec(kNew, true)).Times(1);
    EXPECT_CALL(power_, rebootFirmware(_, _)).Times(0);
    e->reboot(power_);
    EXPECT_TRUE(loaded_);
}

TEST_F(EngineBootLoaderTest, ForeignKernelIsNotUnloadedToStepAside) {
    loaded_ = true;  // loaded by another tool
    auto e = engine(noAutoStage());
    e->start();
    tree_.file("/no-kexec-reboot", "");
    EXPECT_CALL(power_, rebootKexec(_, true)).Times(1);
    e->reboot(power_);
    EXPECT_TRUE(loaded_);
    EXPECT_EQ(unloads_, 0);
}

}  // namespace
}  // namespace kexecd

namespace kexecd {
namespace {

// The demo's sample system: "nomodeset" typed at the menu, GRUB pinned to
// the running kernel with grub-set-default.
TEST(SampleSystem, ShowsWhatGrubWouldBoot) {
    test::TempDir dir;
    fixture::sampleSystem(dir.path());
    SimulatedKexec backend;
    Engine e(Root(dir.path()), Config{}, backend);
    EXPECT_EQ(e.start(), std::nullopt);
    Status s = e.status();
    EXPECT_EQ(s.stagedVersion, "6.12.12+deb12-amd64");
    EXPECT_EQ(s.stagedCmdline, "root=UUID=0a1b2c3d ro quiet console=ttyS0,115200");
    EXPECT_EQ(s.defaultVersion, "6.1.0-13-amd64");
    EXPECT_EQ(s.bootLoader, "GRUB (/boot/grub/grub.cfg)");
    EXPECT_EQ(s.bootLoaderCmdline, s.stagedCmdline);
    EXPECT_TRUE(e.bootLoader().warnings.empty());
}

}  // namespace
}  // namespace kexecd
