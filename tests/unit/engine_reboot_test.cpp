// Engine::reboot() with RebootFlags (cold, override inhibitors), and the
// journal events and "who staged" record every change leaves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine_fixture.hpp"
#include "event_log.hpp"

namespace kexecd::test {
namespace {

using ::testing::_;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StrictMock;

class EngineRebootTest : public EngineTest {
  protected:
    EngineRebootTest() {
        setEventSink([this](const Event& e) { events_.push_back(e); });
    }
    ~EngineRebootTest() override { setEventSink(nullptr); }

    std::vector<Event> eventsOf(EventKind kind) const {
        std::vector<Event> out;
        for (auto& e : events_)
            if (e.kind == kind) out.push_back(e);
        return out;
    }

    std::vector<Event> events_;
};

TEST_F(EngineRebootTest, ColdRebootAsksLogindFirstThenUnloads) {
    StrictMock<MockPower> power;
    auto e = engine();
    e->start();
    ASSERT_TRUE(loaded_);
    EXPECT_CALL(power, rebootFirmware(HasSubstr("cold reboot"), true)).WillOnce([this] {
        EXPECT_TRUE(loaded_) << "unloaded before logind said yes";
    });
    e->reboot(power, RebootFlags{.cold = true});
    EXPECT_FALSE(loaded_);
    EXPECT_FALSE(state());
    EXPECT_EQ(e->status().stagedVersion, "");
}

TEST_F(EngineRebootTest, RefusedColdRebootLeavesTheKernelStaged) {
    StrictMock<MockPower> power;
    auto e = engine();
    e->start();
    Status before = e->status();
    EXPECT_CALL(power, rebootFirmware(_, true)).WillOnce([] {
        throw Error(ErrorCode::Failed, "logind did not reboot: inhibited");
    });
    Error err = errorOf([&] { e->reboot(power, RebootFlags{.cold = true}); });
    EXPECT_THAT(err.what(), HasSubstr("inhibited"));
    EXPECT_TRUE(loaded_);
    EXPECT_EQ(unloads_, 0);
    EXPECT_TRUE(state());
    EXPECT_EQ(e->status(), before);
    EXPECT_TRUE(eventsOf(EventKind::Reboot).empty());
}

TEST_F(EngineRebootTest, ColdRebootNeedsNothingStaged) {
    StrictMock<MockPower> power;
    auto e = engine(noAutoStage());
    e->start();
    EXPECT_CALL(power, rebootFirmware(_, true)).Times(1);
    e->reboot(power, RebootFlags{.cold = true});
    EXPECT_EQ(unloads_, 0);
}

TEST_F(EngineRebootTest, IgnoreInhibitorsReachesLogind) {
    StrictMock<MockPower> power;
    auto e = engine();
    e->start();
    EXPECT_CALL(power, rebootKexec(kNew, false)).Times(1);
    e->reboot(power, RebootFlags{.ignoreInhibitors = true});
    EXPECT_CALL(power, rebootFirmware(_, false)).Times(1);
    e->reboot(power, RebootFlags{.cold = true, .ignoreInhibitors = true});
}

TEST_F(EngineRebootTest, EveryChangeIsAnEventWithItsFields) {
    NiceMock<MockPower> power;
    auto e = engine(noAutoStage());
    e->start();
    {
        ActorScope actor(Actor{"uid 0 pid 42 kexecctl (:1.7)", 0, 42});
        e->stage(kOld, "");
        e->reboot(power);
        e->unstage();
    }
    auto staged = eventsOf(EventKind::Staged);
    ASSERT_EQ(staged.size(), 1u);
    EXPECT_THAT(staged[0].fields, Contains(Pair("KEXECD_VERSION", kOld)));
    EXPECT_THAT(staged[0].fields, Contains(Pair("KEXECD_CMDLINE", HasSubstr("root=UUID="))));
    EXPECT_THAT(staged[0].fields, Contains(Pair("KEXECD_CALLER_UID", "0")));
    EXPECT_THAT(staged[0].fields, Contains(Pair("KEXECD_CALLER_PID", "42")));
    EXPECT_THAT(staged[0].message, HasSubstr("for uid 0 pid 42 kexecctl"));
    auto reboot = eventsOf(EventKind::Reboot);
    ASSERT_EQ(reboot.size(), 1u);
    EXPECT_EQ(reboot[0].level, EventLevel::Notice);
    EXPECT_THAT(reboot[0].fields, Contains(Pair("KEXECD_VERSION", kOld)));
    auto unstaged = eventsOf(EventKind::Unstaged);
    ASSERT_EQ(unstaged.size(), 1u);
    EXPECT_THAT(unstaged[0].fields, Contains(Pair("KEXECD_CALLER_PID", "42")));
}

TEST_F(EngineRebootTest, StepAsideIsAnEvent) {
    NiceMock<MockPower> power;
    auto e = engine();
    e->start();
    tree_.file("/no-kexec-reboot", "");
    e->reboot(power);
    auto aside = eventsOf(EventKind::SteppedAside);
    ASSERT_EQ(aside.size(), 1u);
    EXPECT_EQ(aside[0].level, EventLevel::Warning);
    EXPECT_THAT(aside[0].fields, Contains(Pair("KEXECD_VERSION", kNew)));
}

TEST_F(EngineRebootTest, MessageIdsAreDistinct128BitIds) {
    std::set<std::string_view> seen;
    for (auto k : {EventKind::Staged, EventKind::Unstaged, EventKind::Reboot,
                   EventKind::SteppedAside, EventKind::Denied}) {
        auto id = messageId(k);
        EXPECT_EQ(id.size(), 32u);
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string_view::npos) << id;
        EXPECT_TRUE(seen.insert(id).second) << id;
    }
}

TEST_F(EngineRebootTest, WhoStagedAndWhenIsRecordedAndSurvivesARestart) {
    auto before = std::chrono::system_clock::now();
    {
        auto e = engine();
        e->start();  // AutoStage, no actor set
        EXPECT_EQ(e->status().stagedBy, "AutoStage");
    }
    auto s = state();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->stagedBy, "AutoStage");
    auto at = std::chrono::system_clock::time_point(std::chrono::microseconds(s->stagedAtUsec));
    EXPECT_GE(at, before - std::chrono::seconds(1));
    EXPECT_LE(at, std::chrono::system_clock::now());

    auto e = engine(noAutoStage());
    e->start();
    EXPECT_EQ(e->status().stagedBy, "AutoStage");
    EXPECT_EQ(e->status().stagedAtUsec, s->stagedAtUsec);
    {
        ActorScope actor(Actor{"uid 0 pid 7 bash (:1.3)", 0, 7});
        e->stage(kOld, "");
    }
    EXPECT_EQ(e->status().stagedBy, "uid 0 pid 7 bash (:1.3)");
}

TEST_F(EngineRebootTest, StagedBytesCountKernelAndInitrds) {
    auto e = engine();
    e->start();
    auto bytes = fs::file_size(host("/boot/vmlinuz-" + kNew)) +
                 fs::file_size(host("/boot/initrd.img-" + kNew));
    EXPECT_EQ(e->status().stagedBytes, bytes);
}

}  // namespace
}  // namespace kexecd::test
