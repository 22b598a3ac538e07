// airlock's semaphore and etcd's JSON gateway, as kexecd writes and reads
// them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "airlock_semaphore.hpp"
#include "error.hpp"
#include "etcd_json.hpp"

using namespace kexecd;

TEST(Semaphore, ParsesAirlocksFormatAndSortsHolders) {
    auto s = parseSemaphore(R"({"total_slots":2,"holders":["b","a"]})");
    EXPECT_EQ(s.totalSlots, 2u);
    EXPECT_EQ(s.holders, (std::vector<std::string>{"a", "b"}));
    // airlock writes null for no holders.
    EXPECT_TRUE(parseSemaphore(R"({"total_slots":1,"holders":null})").holders.empty());
    EXPECT_TRUE(parseSemaphore(R"({"total_slots":1})").holders.empty());
}

TEST(Semaphore, RefusesWhatItDoesNotUnderstand) {
    for (auto bad : {"", "[]", "{}", R"({"total_slots":-1})", R"({"total_slots":"2"})",
                     R"({"total_slots":1,"holders":"a"})", R"({"total_slots":1,"holders":[1]})"})
        EXPECT_THROW(parseSemaphore(bad), Error) << bad;
}

TEST(Semaphore, TakeAndRelease) {
    Semaphore s{2, {}};
    EXPECT_TRUE(s.take("n2"));
    EXPECT_TRUE(s.take("n1"));
    EXPECT_TRUE(s.take("n1"));  // taking a slot you hold succeeds
    EXPECT_FALSE(s.take("n3"));
    EXPECT_EQ(s.holders, (std::vector<std::string>{"n1", "n2"}));
    EXPECT_EQ(describeSemaphore(s), "2/2 held by n1, n2");
    EXPECT_FALSE(s.release("n3"));
    EXPECT_TRUE(s.release("n1"));
    EXPECT_TRUE(s.take("n3"));
    EXPECT_EQ(parseSemaphore(serializeSemaphore(s)), s);
    EXPECT_EQ(serializeSemaphore(Semaphore{1, {"a"}}), R"({"holders":["a"],"total_slots":1})");
}

TEST(Semaphore, KeyIsAirlocks) {
    EXPECT_EQ(semaphoreKey("workers"), "com.coreos.airlock/groups/workers/v1/semaphore");
}

TEST(EtcdJson, Base64RoundTrips) {
    for (std::string s :
         std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
        EXPECT_EQ(etcd::base64Decode(etcd::base64Encode(s)), s);
    EXPECT_EQ(etcd::base64Encode("foo"), "Zm9v");
    EXPECT_EQ(etcd::base64Encode("fo"), "Zm8=");
    EXPECT_EQ(etcd::base64Decode("Zm8"), "fo");
    EXPECT_FALSE(etcd::base64Decode("Z"));
    EXPECT_FALSE(etcd::base64Decode("Zm9v!"));
}

TEST(EtcdJson, CreateComparesCreateRevisionZero) {
    auto j = nlohmann::json::parse(etcd::createRequest("k", "v"));
    EXPECT_EQ(j["compare"][0]["target"], "CREATE");
    EXPECT_EQ(j["compare"][0]["create_revision"], "0");
    EXPECT_EQ(j["compare"][0]["key"], etcd::base64Encode("k"));
    EXPECT_EQ(j["success"][0]["request_put"]["value"], etcd::base64Encode("v"));
}

TEST(EtcdJson, CasComparesVersion) {
    auto j = nlohmann::json::parse(etcd::casRequest("k", "v", 7));
    EXPECT_EQ(j["compare"][0]["target"], "VERSION");
    EXPECT_EQ(j["compare"][0]["result"], "EQUAL");
    EXPECT_EQ(j["compare"][0]["version"], "7");
}

TEST(EtcdJson, ParsesRange) {
    auto r = etcd::parseRange(
        R"({"header":{"revision":"12"},"kvs":[{"key":"aw==","value":"dg==","version":"3",)"
        R"("mod_revision":"12","create_revision":"5"}],"count":"1"})");
    EXPECT_EQ(r.revision, 12);
    ASSERT_TRUE(r.kv);
    EXPECT_EQ(r.kv->value, "v");
    EXPECT_EQ(r.kv->version, 3);
    EXPECT_EQ(r.kv->createRevision, 5);
    EXPECT_FALSE(etcd::parseRange(R"({"header":{"revision":"2"}})").kv);
}

TEST(EtcdJson, ParsesTxnAndErrors) {
    EXPECT_TRUE(etcd::parseTxn(R"({"header":{},"succeeded":true})"));
    EXPECT_FALSE(etcd::parseTxn(R"({"header":{}})"));
    try {
        etcd::parseTxn(R"({"error":"etcdserver: no leader","code":14,"message":"no leader"})");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no leader"), std::string::npos);
    }
    for (auto bad : {"", "null", R"({"succeeded":"yes"})", R"({"kvs":{}})",
                     R"({"kvs":[{"value":"!!","version":"1"}]})",
                     R"({"kvs":[{"value":"dg==","version":"x"}]})"})
        EXPECT_THROW(
            {
                etcd::parseTxn(bad);
                etcd::parseRange(bad);
            },
            Error)
            << bad;
}
