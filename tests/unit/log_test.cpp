// core/log: levels, the sink, and stderr's line format.
#include "log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "text.hpp"

namespace kexecd::log {
namespace {

class LogTest : public ::testing::Test {
  protected:
    void SetUp() override {
        setLevel(Level::Info);
        setSink([this](Level l, std::string_view m) { lines.emplace_back(l, std::string(m)); });
    }
    void TearDown() override {
        setSink(nullptr);
        setLevel(Level::Error);  // as the engine tests leave it: quiet
    }
    std::vector<std::pair<Level, std::string>> lines;
};

TEST_F(LogTest, FormatsAndHandsLinesToTheSink) {
    warn("staging {} failed: {}", "6.1.0-13-amd64", 42);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].first, Level::Warning);
    EXPECT_EQ(lines[0].second, "staging 6.1.0-13-amd64 failed: 42");
}

TEST_F(LogTest, DropsLinesLessSevereThanTheLevel) {
    debug("not shown");
    info("shown");
    setLevel(Level::Debug);
    debug("now shown");
    setLevel(Level::Error);
    warn("dropped");
    error("kept");
    critical("kept too");
    std::vector<std::string> texts;
    for (auto& [l, m] : lines) texts.push_back(m);
    EXPECT_EQ(texts, (std::vector<std::string>{"shown", "now shown", "kept", "kept too"}));
}

TEST_F(LogTest, LevelsAreSyslogPriorities) {
    // The journal sink passes them as PRIORITY= unchanged.
    EXPECT_EQ(static_cast<int>(Level::Critical), 2);
    EXPECT_EQ(static_cast<int>(Level::Error), 3);
    EXPECT_EQ(static_cast<int>(Level::Warning), 4);
    EXPECT_EQ(static_cast<int>(Level::Info), 6);
    EXPECT_EQ(static_cast<int>(Level::Debug), 7);
}

TEST_F(LogTest, WithoutASinkWritesOneLineToStderr) {
    setSink(nullptr);
    std::FILE* tmp = std::tmpfile();
    ASSERT_NE(tmp, nullptr);
    int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(tmp), STDERR_FILENO);
    error("cannot read {}", "/boot/vmlinuz");
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::rewind(tmp);
    char buf[256] = {};
    size_t n = std::fread(buf, 1, sizeof buf - 1, tmp);
    std::fclose(tmp);
    // Not a terminal: no colours.
    EXPECT_EQ(std::string(buf, n),
              "kexecd[" + std::to_string(::getpid()) + "]: error: cannot read /boot/vmlinuz\n");
}

// Shared with kexecctl: systemd's rules.
TEST(ColorsWanted, FollowsSystemdsEnvironment) {
    EXPECT_TRUE(colorsWanted(true, nullptr, nullptr, "xterm"));
    EXPECT_FALSE(colorsWanted(false, nullptr, nullptr, "xterm"));
    EXPECT_FALSE(colorsWanted(true, "", nullptr, "xterm"));  // NO_COLOR, any value
    EXPECT_FALSE(colorsWanted(true, nullptr, nullptr, "dumb"));
    for (const char* off : {"0", "false", "no", "off"})
        EXPECT_FALSE(colorsWanted(true, nullptr, off, "xterm")) << off;
    // SYSTEMD_COLORS wins, on or off, even without a terminal.
    for (const char* on : {"1", "true", "256", "24bit"})
        EXPECT_TRUE(colorsWanted(false, "1", on, "dumb")) << on;
    EXPECT_TRUE(colorsWanted(true, nullptr, "", "xterm"));  // empty: unset
}

TEST(HasSuffixNoCase, AnyCaseOfTheSuffixLongerThanIt) {
    EXPECT_TRUE(hasSuffixNoCase("/efi/EFI/Linux/x.EFI", ".efi"));
    EXPECT_TRUE(hasSuffixNoCase("x.efi", ".efi"));
    EXPECT_TRUE(hasSuffixNoCase("A.Addon.Efi", ".addon.efi"));
    EXPECT_FALSE(hasSuffixNoCase(".efi", ".efi"));  // a name, not the suffix alone
    EXPECT_FALSE(hasSuffixNoCase("vmlinuz-6.12", ".efi"));
    EXPECT_FALSE(hasSuffixNoCase("efi", ".efi"));
}

}  // namespace
}  // namespace kexecd::log
