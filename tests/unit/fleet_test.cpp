// The coordinators over a fake transport (etcd in memory, a FleetLock
// double), and the node's flow: take, record, release after boot.
#include "fleet.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "error.hpp"
#include "fake_etcd.hpp"
#include "temp_dir.hpp"

using namespace kexecd;
using kexecd::test::FakeEtcd;

namespace {

FleetConfig etcdConfig(unsigned slots = 2) {
    FleetConfig c;
    c.coordinator = CoordinatorKind::Etcd;
    c.endpoints = {"http://127.0.0.1:1/"};
    c.group = "g";
    c.slots = slots;
    return c;
}

const std::string kKey = semaphoreKey("g");

Semaphore stored(FakeEtcd& e) {
    return parseSemaphore(e.kvs.at(kKey).value);
}

void writeFile(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

}  // namespace

TEST(EtcdCoordinator, CreatesTheSemaphoreOnlyIfAbsent) {
    auto e = std::make_shared<FakeEtcd>();
    auto c = makeCoordinator(etcdConfig(2), e);
    EXPECT_TRUE(c->take("a").taken);
    EXPECT_EQ(stored(*e), (Semaphore{2, {"a"}}));
    // A semaphore that exists keeps its own total.
    auto c3 = makeCoordinator(etcdConfig(3), e);
    EXPECT_TRUE(c3->take("b").taken);
    EXPECT_EQ(stored(*e), (Semaphore{2, {"a", "b"}}));
    auto r = c3->take("c");
    EXPECT_FALSE(r.taken);
    EXPECT_EQ(r.why, "2/2 held by a, b");
}

TEST(EtcdCoordinator, TakingAHeldSlotSucceedsWithoutWriting) {
    auto e = std::make_shared<FakeEtcd>();
    auto c = makeCoordinator(etcdConfig(1), e);
    ASSERT_TRUE(c->take("a").taken);
    int txns = e->txns;
    EXPECT_TRUE(c->take("a").taken);
    EXPECT_EQ(e->txns, txns);
}

TEST(EtcdCoordinator, ConflictsAreRetriedNeverOverwritten) {
    auto e = std::make_shared<FakeEtcd>();
    e->put(kKey, R"({"total_slots":2,"holders":[]})");
    auto c = makeCoordinator(etcdConfig(), e);
    // Another node takes a slot between our read and our write, twice.
    int interfere = 2;
    e->beforeTxn = [&] {
        if (interfere-- <= 0) return;
        auto s = stored(*e);
        s.take("other" + std::to_string(interfere));
        e->put(kKey, serializeSemaphore(s));
    };
    auto r = c->take("me");
    EXPECT_FALSE(r.taken);  // both others got in first: no slot left
    EXPECT_EQ(e->failedTxns, 2);
    EXPECT_EQ(stored(*e), (Semaphore{2, {"other0", "other1"}}));
}

TEST(EtcdCoordinator, CreateRaceIsRetried) {
    auto e = std::make_shared<FakeEtcd>();
    auto c = makeCoordinator(etcdConfig(2), e);
    bool once = true;
    e->beforeTxn = [&] {
        if (std::exchange(once, false)) e->put(kKey, R"({"total_slots":2,"holders":["x"]})");
    };
    EXPECT_TRUE(c->take("me").taken);
    EXPECT_EQ(stored(*e), (Semaphore{2, {"me", "x"}}));
}

TEST(EtcdCoordinator, ReleaseAndUnknownValues) {
    auto e = std::make_shared<FakeEtcd>();
    auto c = makeCoordinator(etcdConfig(2), e);
    c->take("a");
    EXPECT_TRUE(c->release("a"));
    EXPECT_FALSE(c->release("a"));
    EXPECT_TRUE(stored(*e).holders.empty());
    e->put(kKey, "not json");
    int txns = e->txns;
    try {
        c->take("a");
        FAIL();
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), ErrorCode::CoordinatorUnavailable);
    }
    EXPECT_EQ(e->txns, txns);  // never overwritten
}

TEST(EtcdCoordinator, UnreachableIsCoordinatorUnavailable) {
    auto e = std::make_shared<FakeEtcd>();
    e->down = true;
    auto c = makeCoordinator(etcdConfig(), e);
    try {
        c->take("a");
        FAIL();
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), ErrorCode::CoordinatorUnavailable);
        EXPECT_NE(std::string(err.what()).find("Connection refused"), std::string::npos);
    }
}

namespace {

// Zincati's FleetLock, as a server would answer.
struct FleetLockDouble final : HttpTransport {
    std::set<std::string> holders;
    unsigned slots = 1;
    std::vector<std::string> lastHeaders;
    HttpResponse post(const std::string& url, const std::string& body,
                      const std::vector<std::string>& headers) override {
        lastHeaders = headers;
        auto id = nlohmann::json::parse(body)["client_params"]["id"].get<std::string>();
        if (url.ends_with("/v1/pre-reboot")) {
            if (holders.count(id) || holders.size() < slots) {
                holders.insert(id);
                return {200, ""};
            }
            return {409,
                    R"({"kind":"failed_lock","value":"all 1 semaphore slots currently locked"})"};
        }
        holders.erase(id);
        return {200, ""};
    }
};

}  // namespace

TEST(FleetLockCoordinator, SpeaksTheProtocol) {
    auto d = std::make_shared<FleetLockDouble>();
    FleetConfig c = etcdConfig();
    c.coordinator = CoordinatorKind::FleetLock;
    auto f = makeCoordinator(c, d);
    EXPECT_TRUE(f->take("a").taken);
    EXPECT_NE(std::find(d->lastHeaders.begin(), d->lastHeaders.end(), "fleet-lock-protocol: true"),
              d->lastHeaders.end());
    auto r = f->take("b");
    EXPECT_FALSE(r.taken);
    EXPECT_EQ(r.why, "HTTP 409: failed_lock: all 1 semaphore slots currently locked");
    EXPECT_TRUE(f->release("a"));
    EXPECT_TRUE(f->take("b").taken);
    EXPECT_FALSE(f->semaphore());
}

class FleetFlow : public ::testing::Test {
  protected:
    test::TempDir dir;
    Root root{dir.path()};
    std::shared_ptr<FakeEtcd> etcd = std::make_shared<FakeEtcd>();
    void SetUp() override {
        writeFile(root.path("/etc/machine-id"), "0123abcd\n");
        writeFile(root.path("/proc/sys/kernel/random/boot_id"), "boot-1\n");
    }
    std::unique_ptr<Fleet> make(FleetConfig c = etcdConfig(1)) {
        return std::make_unique<Fleet>(
            root, c, makeCoordinator(c, etcd),
            Backoff{std::chrono::milliseconds(1), std::chrono::milliseconds(5)});
    }
};

TEST_F(FleetFlow, TakesRecordsAndReleasesAfterBootOnceRunning) {
    auto f = make();
    EXPECT_EQ(f->nodeId(), "0123abcd");
    f->acquire(true);
    auto rec = fleetRecordFromJson(*readSmallFile(root.path(kFleetRecordFile)));
    EXPECT_EQ(rec.bootId, "boot-1");
    EXPECT_EQ(rec.group, "g");
    EXPECT_EQ(f->state(), "holding a reboot slot in group g");
    // Same boot (daemon restarted before the reboot): keeps it.
    auto again = make();
    EXPECT_FALSE(again->releaseAfterBoot([] { return "running"; }));
    EXPECT_TRUE(stored(*etcd).holds("0123abcd"));
    // Next boot: released only once systemd says running.
    writeFile(root.path("/proc/sys/kernel/random/boot_id"), "boot-2\n");
    auto after = make();
    int polls = 0;
    EXPECT_TRUE(after->releaseAfterBoot([&] { return ++polls < 3 ? "starting" : "running"; },
                                        std::chrono::seconds(5), std::chrono::milliseconds(1)));
    EXPECT_EQ(polls, 3);
    EXPECT_FALSE(stored(*etcd).holds("0123abcd"));
    EXPECT_FALSE(std::filesystem::exists(root.path(kFleetRecordFile)));
}

TEST_F(FleetFlow, ANodeThatDoesNotComeUpKeepsItsSlot) {
    make()->acquire(true);
    writeFile(root.path("/proc/sys/kernel/random/boot_id"), "boot-2\n");
    auto f = make();
    EXPECT_FALSE(f->releaseAfterBoot([] { return "degraded"; }, std::chrono::milliseconds(20),
                                     std::chrono::milliseconds(1)));
    EXPECT_TRUE(stored(*etcd).holds("0123abcd"));
    EXPECT_NE(f->state().find("did not come up"), std::string::npos);
    // With ReleaseWhenDegraded=yes it goes.
    auto c = etcdConfig(1);
    c.releaseWhenDegraded = true;
    EXPECT_TRUE(make(c)->releaseAfterBoot([] { return "degraded"; }));
}

TEST_F(FleetFlow, NoWaitFailsAtOnceWaitingCanBeCancelled) {
    etcd->put(kKey, R"({"total_slots":1,"holders":["other"]})");
    auto f = make();
    try {
        f->acquire(false);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NoSlot);
        EXPECT_NE(std::string(e.what()).find("1/1 held by other"), std::string::npos);
    }
    std::atomic<bool> done = false;
    std::thread t([&] {
        EXPECT_THROW(f->acquire(true), Error);
        done = true;
    });
    while (f->state().find("waiting for a reboot slot in group g: 1/1 held by other") ==
           std::string::npos)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    f->cancel();
    t.join();
    EXPECT_TRUE(done);
    EXPECT_FALSE(std::filesystem::exists(root.path(kFleetRecordFile)));
}

TEST_F(FleetFlow, WaitsUntilASlotGoesFree) {
    etcd->put(kKey, R"({"total_slots":1,"holders":["other"]})");
    auto f = make();
    std::thread t([&] { f->acquire(true); });
    while (f->state().find("waiting") == std::string::npos)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    {
        // The other node comes up and releases its slot.
        std::lock_guard lock(etcd->mutex);
        etcd->put(kKey, R"({"total_slots":1,"holders":[]})");
    }
    t.join();
    EXPECT_EQ(stored(*etcd), (Semaphore{1, {"0123abcd"}}));
}

TEST_F(FleetFlow, UnavailableCoordinatorFailsAndAdminRelease) {
    auto f = make();
    etcd->down = true;
    try {
        f->acquire(true);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::CoordinatorUnavailable);
    }
    etcd->down = false;
    etcd->put(kKey, R"({"total_slots":1,"holders":["dead"]})");
    EXPECT_TRUE(f->release("dead"));
    EXPECT_FALSE(f->release("dead"));
    f->acquire(false);
    EXPECT_TRUE(stored(*etcd).holds("0123abcd"));
    f->abandon();
    EXPECT_FALSE(stored(*etcd).holds("0123abcd"));
}
