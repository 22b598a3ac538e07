// The /boot watch's schedule, on a fake clock: no wakeups at all while
// nothing changes, one after a burst of changes has settled.
#include "settle.hpp"

#include <gtest/gtest.h>

namespace kexecd {
namespace {

using namespace std::chrono_literals;
using Clock = SettleSchedule::Clock;

const Clock::time_point t0 = Clock::time_point{} + 1000h;

TEST(SettleSchedule, IdleNeverWakesUp) {
    SettleSchedule s(2000ms);
    // Blocks for good however long it has been idle: no periodic tick.
    for (auto t : {t0, t0 + 5s, t0 + 1h, t0 + 24h * 365}) {
        EXPECT_EQ(s.timeoutMs(t), -1);
        EXPECT_FALSE(s.takeDue(t));
    }
    EXPECT_FALSE(s.pending());
}

TEST(SettleSchedule, WakesOnceAfterTheDelay) {
    SettleSchedule s(2000ms);
    s.changed(t0);
    EXPECT_EQ(s.timeoutMs(t0), 2000);
    EXPECT_EQ(s.timeoutMs(t0 + 1999ms), 1);
    EXPECT_FALSE(s.takeDue(t0 + 1999ms));
    EXPECT_EQ(s.timeoutMs(t0 + 2000ms), 0);
    EXPECT_TRUE(s.takeDue(t0 + 2000ms));
    // Done: back to blocking, and the rescan is not repeated.
    EXPECT_FALSE(s.takeDue(t0 + 2001ms));
    EXPECT_EQ(s.timeoutMs(t0 + 1h), -1);
}

TEST(SettleSchedule, EveryChangeRestartsTheDelay) {
    SettleSchedule s(2000ms);
    s.changed(t0);
    s.changed(t0 + 1500ms);
    EXPECT_FALSE(s.takeDue(t0 + 2500ms));
    EXPECT_EQ(s.timeoutMs(t0 + 2500ms), 1000);
    EXPECT_TRUE(s.takeDue(t0 + 3500ms));
}

TEST(SettleSchedule, RoundsUpNeverEarly) {
    SettleSchedule s(2000ms);
    s.changed(t0);
    // 0.5 ms left: a timeout of 0 would spin until it is over.
    EXPECT_EQ(s.timeoutMs(t0 + 1999500us), 1);
    SettleSchedule zero(0ms);
    zero.changed(t0);
    EXPECT_EQ(zero.timeoutMs(t0), 0);
    EXPECT_TRUE(zero.takeDue(t0));
}

// A whole idle minute of the watch's loop: each wait is as long as the
// schedule says, so the number of loop turns is the number of wakeups.
TEST(SettleSchedule, LoopMakesNoWakeupsWhenIdle) {
    SettleSchedule s(2000ms);
    auto now = t0;
    int wakeups = 0, rescans = 0;
    auto turn = [&](bool event) {
        if (event) s.changed(now);
        if (s.takeDue(now)) ++rescans;
    };
    // Idle: the first wait is forever, so in a minute there is none.
    EXPECT_EQ(s.timeoutMs(now), -1);
    // A burst of 5 events 100 ms apart, then quiet.
    for (int i = 0; i < 5; ++i, now += 100ms, ++wakeups) turn(true);
    while (s.timeoutMs(now) >= 0) {
        now += std::chrono::milliseconds(s.timeoutMs(now));
        ++wakeups;
        turn(false);
    }
    EXPECT_EQ(rescans, 1);
    EXPECT_EQ(wakeups, 6);  // 5 events and one for the settled rescan
    EXPECT_EQ(s.timeoutMs(now + 60s), -1);
}

}  // namespace
}  // namespace kexecd
