#include "authz.hpp"

#include <gtest/gtest.h>

namespace kexecd {
namespace {

using Kind = Authorization::Kind;

void expectPolkit(const char* method, bool custom, const char* action) {
    Authorization a = authorizationFor(method, custom);
    EXPECT_EQ(a.kind, Kind::Polkit) << method << " custom=" << custom;
    EXPECT_EQ(a.action, action) << method << " custom=" << custom;
}

TEST(Authz, ListKernelsIsPublic) {
    for (bool custom : {false, true}) {
        Authorization a = authorizationFor("ListKernels", custom);
        EXPECT_EQ(a.kind, Kind::Public);
        EXPECT_EQ(a.action, "");
    }
}

TEST(Authz, StagingMethods) {
    expectPolkit("StageNewest", false, "org.kexecd1.stage");
    expectPolkit("Rescan", false, "org.kexecd1.stage");
    expectPolkit("Stage", false, "org.kexecd1.stage");
    expectPolkit("Stage", true, "org.kexecd1.stage-custom");
    // Only Stage takes a command line; the flag changes nothing elsewhere.
    expectPolkit("StageNewest", true, "org.kexecd1.stage");
    expectPolkit("Rescan", true, "org.kexecd1.stage");
}

TEST(Authz, DefaultArgumentIsNotCustom) {
    Authorization a = authorizationFor("Stage");
    EXPECT_EQ(a.kind, Kind::Polkit);
    EXPECT_EQ(a.action, "org.kexecd1.stage");
}

TEST(Authz, UnstageAndReboot) {
    expectPolkit("Unstage", false, "org.kexecd1.unstage");
    expectPolkit("Reboot", false, "org.kexecd1.reboot");
    expectPolkit("Unstage", true, "org.kexecd1.unstage");
    expectPolkit("Reboot", true, "org.kexecd1.reboot");
}

TEST(Authz, FleetMethods) {
    expectPolkit("RebootWithOptions", false, "org.kexecd1.reboot");
    expectPolkit("RebootWithOptions", true, "org.kexecd1.reboot-ignore-inhibit");
    expectPolkit("FleetRelease", false, "org.kexecd1.fleet-release");
    expectPolkit("FleetRelease", true, "org.kexecd1.fleet-release");
    for (const char* m : {"RebootNeeded", "FleetStatus"})
        EXPECT_EQ(authorizationFor(m).kind, Kind::Public) << m;
}

TEST(Authz, ListBootEntriesIsPublic) {
    EXPECT_EQ(authorizationFor("ListBootEntries").kind, Kind::Public);
    EXPECT_EQ(authorizationFor("ListBootEntries", true).kind, Kind::Public);
}

TEST(Authz, UnknownMethodsAreDenied) {
    for (const char* m :
         {"", "listkernels", "LISTKERNELS", "Introspect", "Get", "GetAll", "Set", "Ping", "Stage ",
          " Stage", "StageCustom", "RebootNow", "ListKernels\n", "Unstage2"}) {
        for (bool custom : {false, true}) {
            Authorization a = authorizationFor(m, custom);
            EXPECT_EQ(a.kind, Kind::Deny) << '"' << m << '"';
            EXPECT_EQ(a.action, "") << '"' << m << '"';
        }
    }
    using namespace std::literals;
    EXPECT_EQ(authorizationFor("Stage\0x"sv).kind, Kind::Deny);
}

TEST(Authz, DefaultConstructedIsDeny) {
    Authorization a;
    EXPECT_EQ(a.kind, Kind::Deny);
}

}  // namespace
}  // namespace kexecd
