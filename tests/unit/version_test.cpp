#include "version.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace kexecd {
namespace {

int sign(int v) {
    return (v > 0) - (v < 0);
}

// a > b, and the comparison is antisymmetric.
void expectNewer(const std::string& a, const std::string& b) {
    EXPECT_EQ(sign(compareVersions(a, b)), 1) << a << " should be newer than " << b;
    EXPECT_EQ(sign(compareVersions(b, a)), -1) << b << " should be older than " << a;
}

TEST(CompareVersions, NumericRunsCompareAsNumbers) {
    expectNewer("6.12", "6.9");
    expectNewer("6.12.0", "6.9.12");
    expectNewer("10.0", "9.99");
}

TEST(CompareVersions, DebianAbiNumbers) {
    expectNewer("6.1.0-13", "6.1.0-9");
    expectNewer("6.1.0-13-amd64", "6.1.0-9-amd64");
    expectNewer("6.12.12+deb12-amd64", "6.12.9+deb12-amd64");
}

TEST(CompareVersions, FedoraReleases) {
    expectNewer("6.11.10-300.fc41", "6.11.4-301.fc41");
    expectNewer("6.11.10-300.fc41.x86_64", "6.11.4-301.fc41.x86_64");
    expectNewer("6.11.4-301.fc41", "6.11.4-300.fc41");
}

TEST(CompareVersions, EqualStrings) {
    for (const char* v : {"", "6.1.0-13-amd64", "6.11.10-300.fc41.x86_64", "6.12~rc1", "linux"})
        EXPECT_EQ(compareVersions(v, v), 0) << v;
}

TEST(CompareVersions, TildeSortsBeforeEverything) {
    expectNewer("6.12", "6.12~rc1");      // before the end of the string
    expectNewer("6.12.0", "6.12~rc1");    // before a separator
    expectNewer("6.12a", "6.12~");        // before a letter
    expectNewer("6.12~rc2", "6.12~rc1");  // and then compares normally
    expectNewer("6.12~rc1", "6.12~~");    // a double tilde is older still
    expectNewer("6.9", "6.9~rc7");
}

TEST(CompareVersions, LeadingZerosDoNotMatter) {
    EXPECT_EQ(compareVersions("6.01", "6.1"), 0);
    EXPECT_EQ(compareVersions("6.000", "6.0"), 0);
    expectNewer("6.010", "6.9");
    expectNewer("6.0010", "6.009");
}

TEST(CompareVersions, LongerPrefixIsNewer) {
    expectNewer("6.1.1", "6.1");
    expectNewer("6.1.0-13", "6.1.0");
}

TEST(CompareVersions, NumberOutranksWord) {
    expectNewer("6.1.0", "6.1.rc");
}

TEST(CompareVersions, NumbersLongerThanAnyIntegerType) {
    expectNewer("6.123456789012345678901234567890", "6.123456789012345678901234567889");
}

TEST(CompareVersions, SortsAListNewestFirst) {
    std::vector<std::string> v = {"6.1.0-9-amd64",  "6.12.9+deb12-amd64",  "6.12~rc3",
                                  "6.1.0-13-amd64", "6.12.12+deb12-amd64", "5.10.0-28-amd64"};
    std::sort(v.begin(), v.end(),
              [](const std::string& a, const std::string& b) { return compareVersions(a, b) > 0; });
    std::vector<std::string> want = {
        "6.12.12+deb12-amd64", "6.12.9+deb12-amd64", "6.12~rc3",
        "6.1.0-13-amd64",      "6.1.0-9-amd64",      "5.10.0-28-amd64"};
    EXPECT_EQ(v, want);
}

TEST(LooksLikeVersion, AcceptsKernelReleases) {
    for (const char* s : {"6.1", "6.1.0-13-amd64", "5.14.0-427.13.1.el9_4.x86_64", "6.12.7-arch1-1",
                          "6.4.0-150600.23.7-default", "10.0"})
        EXPECT_TRUE(looksLikeVersion(s)) << s;
}

TEST(LooksLikeVersion, RejectsOtherNames) {
    for (const char* s :
         {"", "6", "6.", ".6", "linux", "linux-lts", "lts-6.1", "6-1", "6.x", "v6.1", "a6.1"})
        EXPECT_FALSE(looksLikeVersion(s)) << s;
}

}  // namespace
}  // namespace kexecd
