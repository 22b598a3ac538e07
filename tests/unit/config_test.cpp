// loadConfig: keys, values, drop-ins in FILE.d/.
#include "config_fixture.hpp"

namespace kexecd {
namespace {

TEST_F(ConfigTest, DefaultsWithoutAnyFile) {
    Config c = load();
    EXPECT_TRUE(c.autoStage);
    EXPECT_EQ(c.cmdlineAppend, "");
    EXPECT_THAT(c.cmdlineRemove, IsEmpty());
    EXPECT_TRUE(c.requireInitrd);
    EXPECT_TRUE(c.requireModules);
    EXPECT_EQ(c.settleMs, 2000u);
    EXPECT_FALSE(c.rebootUsesKexec);
    EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ConfigTest, EmptyAndCommentedFileGivesDefaults) {
    write("kexecd.conf", "# comment\n; another\n[Stage]\n#AutoStage=no\n\n[Reboot]\n");
    Config c = load();
    EXPECT_TRUE(c.autoStage);
    EXPECT_FALSE(c.rebootUsesKexec);
    EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ConfigTest, EveryKey) {
    write("kexecd.conf",
          "[Stage]\n"
          "AutoStage=no\n"
          "CmdlineAppend=console=ttyS0,115200\n"
          "CmdlineRemove=quiet splash\n"
          "RequireInitrd=false\n"
          "RequireModules=off\n"
          "SettleDelaySec=0.5\n"
          "[Reboot]\n"
          "UseKexec=yes\n");
    Config c = load();
    EXPECT_FALSE(c.autoStage);
    EXPECT_EQ(c.cmdlineAppend, "console=ttyS0,115200");
    EXPECT_THAT(c.cmdlineRemove, ElementsAre("quiet", "splash"));
    EXPECT_FALSE(c.requireInitrd);
    EXPECT_FALSE(c.requireModules);
    EXPECT_EQ(c.settleMs, 500u);
    EXPECT_TRUE(c.rebootUsesKexec);
    EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ConfigTest, BooleanSynonyms) {
    for (const char* t : {"yes", "true", "on", "1", "Yes", "TRUE", "y"})
        EXPECT_EQ(parseBool(t), true) << t;
    for (const char* f : {"no", "false", "off", "0", "No", "OFF", "n"})
        EXPECT_EQ(parseBool(f), false) << f;
    for (const char* x : {"", "maybe", "2", "yess", " yes"})
        EXPECT_EQ(parseBool(x), std::nullopt) << x;

    write("kexecd.conf", "[Stage]\nAutoStage=0\nRequireInitrd=off\n");
    Config c = load();
    EXPECT_FALSE(c.autoStage);
    EXPECT_FALSE(c.requireInitrd);
    write("kexecd.conf", "[Stage]\nAutoStage=1\nRequireInitrd=on\n");
    c = load();
    EXPECT_TRUE(c.autoStage);
    EXPECT_TRUE(c.requireInitrd);
}

TEST_F(ConfigTest, BadBooleanNamesFileAndLine) {
    write("kexecd.conf",
          "# kexecd\n[Stage]\nRequireInitrd=yes\nAutoStage=maybe\nRequireModules=no\n");
    auto msg = loadError();
    EXPECT_THAT(msg, HasSubstr(mainFile().string() + ":4"));
    EXPECT_THAT(msg, HasSubstr("AutoStage=maybe"));
}

TEST_F(ConfigTest, BadBooleanInRebootSection) {
    write("kexecd.conf", "[Reboot]\nUseKexec=perhaps\n");
    auto msg = loadError();
    EXPECT_THAT(msg, HasSubstr(mainFile().string() + ":2"));
    EXPECT_THAT(msg, HasSubstr("UseKexec=perhaps"));
}

TEST_F(ConfigTest, FirstErrorIsReported) {
    write("kexecd.conf", "[Stage]\nAutoStage=x\nRequireInitrd=y\n");
    auto msg = loadError();
    EXPECT_THAT(msg, HasSubstr(":2:"));
    EXPECT_THAT(msg, HasSubstr("AutoStage=x"));
}

TEST_F(ConfigTest, SyntaxError) {
    write("kexecd.conf", "[Stage]\nAutoStage=yes\nthis line is wrong\n");
    auto msg = loadError();
    EXPECT_THAT(msg, HasSubstr(mainFile().string() + ":3: expected [Section] or Key=value"));
}

TEST_F(ConfigTest, SyntaxErrorBeforeBadValueIsTheOneReported) {
    // The old parser named line 2 but gave line 3's message.
    auto msg = parseError("[Stage]\nthis line is wrong\nAutoStage=maybe\n");
    EXPECT_THAT(msg, HasSubstr("test.conf:2: expected [Section] or Key=value"));
    EXPECT_THAT(msg, Not(HasSubstr("AutoStage")));
}

TEST_F(ConfigTest, NothingAfterTheFirstErrorIsWarnedAbout) {
    parseError("[Stage]\nAutoStage=maybe\nFrobnicate=1\n");
    EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ConfigTest, BadValueInDropInNamesTheDropIn) {
    write("kexecd.conf", "[Stage]\nAutoStage=yes\n");
    write("kexecd.conf.d/50-local.conf", "[Stage]\n\nRequireModules=nope\n");
    auto msg = loadError();
    EXPECT_THAT(msg, HasSubstr((dir_ / "kexecd.conf.d/50-local.conf").string() + ":3"));
    EXPECT_THAT(msg, HasSubstr("RequireModules=nope"));
}

TEST_F(ConfigTest, UnknownKeyWarns) {
    write("kexecd.conf", "[Stage]\nAutoStage=no\nFrobnicate=yes\n");
    Config c = load();
    EXPECT_FALSE(c.autoStage);  // the rest still applies
    ASSERT_EQ(warnings_.size(), 1u);
    EXPECT_THAT(warnings_[0], HasSubstr("Frobnicate"));
    EXPECT_THAT(warnings_[0], HasSubstr(mainFile().string() + ":3: unknown key"));
}

TEST_F(ConfigTest, UnknownSectionWarns) {
    write("kexecd.conf", "[Bogus]\nAutoStage=no\n[Stage]\nRequireInitrd=no\n");
    Config c = load();
    EXPECT_TRUE(c.autoStage);  // AutoStage in [Bogus] is not [Stage]'s
    EXPECT_FALSE(c.requireInitrd);
    ASSERT_EQ(warnings_.size(), 1u);
    EXPECT_THAT(warnings_[0], HasSubstr("[Bogus]"));
}

TEST_F(ConfigTest, UnknownKeyInRebootWarns) {
    write("kexecd.conf", "[Reboot]\nUseKexec=yes\nFast=yes\n");
    Config c = load();
    EXPECT_TRUE(c.rebootUsesKexec);
    ASSERT_EQ(warnings_.size(), 1u);
    EXPECT_THAT(warnings_[0], HasSubstr("Fast"));
}

TEST_F(ConfigTest, DropInsOverrideInLexicalOrder) {
    write("kexecd.conf", "[Stage]\nAutoStage=no\nSettleDelaySec=1\nRequireInitrd=no\n");
    write("kexecd.conf.d/20-b.conf", "[Stage]\nAutoStage=yes\nSettleDelaySec=3\n");
    write("kexecd.conf.d/10-a.conf", "[Stage]\nAutoStage=no\nSettleDelaySec=2\n");
    write("kexecd.conf.d/90-z.conf", "[Stage]\nSettleDelaySec=9\n");
    write("kexecd.conf.d/99-ignored.conf.disabled", "[Stage]\nSettleDelaySec=100\n");
    write("kexecd.conf.d/95-ignored.txt", "[Stage]\nSettleDelaySec=200\n");
    Config c = load();
    EXPECT_TRUE(c.autoStage);       // 20-b after 10-a
    EXPECT_EQ(c.settleMs, 9000u);   // 90-z last
    EXPECT_FALSE(c.requireInitrd);  // from the main file, not overridden
    EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ConfigTest, DropInsWithoutMainFile) {
    write("kexecd.conf.d/10-a.conf", "[Stage]\nAutoStage=no\n");
    Config c = load();
    EXPECT_FALSE(c.autoStage);
}

TEST_F(ConfigTest, CmdlineAppendAccumulatesAndEmptyResets) {
    write("kexecd.conf", "[Stage]\nCmdlineAppend=console=ttyS0\nCmdlineAppend=panic=10\n");
    EXPECT_EQ(load().cmdlineAppend, "console=ttyS0 panic=10");

    write("kexecd.conf.d/10-more.conf", "[Stage]\nCmdlineAppend=loglevel=7\n");
    EXPECT_EQ(load().cmdlineAppend, "console=ttyS0 panic=10 loglevel=7");

    write("kexecd.conf.d/20-reset.conf",
          "[Stage]\nCmdlineAppend=\nCmdlineAppend=mitigations=off\n");
    EXPECT_EQ(load().cmdlineAppend, "mitigations=off");

    write("kexecd.conf.d/30-clear.conf", "[Stage]\nCmdlineAppend=\n");
    EXPECT_EQ(load().cmdlineAppend, "");
}

TEST_F(ConfigTest, CmdlineRemoveAccumulatesAndEmptyResets) {
    write("kexecd.conf", "[Stage]\nCmdlineRemove=quiet\nCmdlineRemove=splash rhgb\n");
    EXPECT_THAT(load().cmdlineRemove, ElementsAre("quiet", "splash", "rhgb"));
    write("kexecd.conf.d/10-reset.conf", "[Stage]\nCmdlineRemove=\nCmdlineRemove=console\n");
    EXPECT_THAT(load().cmdlineRemove, ElementsAre("console"));
}

TEST_F(ConfigTest, SettleDelaySec) {
    struct {
        const char* value;
        unsigned ms;
    } good[] = {{"0", 0}, {"5", 5000}, {"0.25", 250}, {"1.5", 1500}, {"3600", 3600000}};
    for (auto& g : good) {
        write("kexecd.conf", std::string("[Stage]\nSettleDelaySec=") + g.value + "\n");
        EXPECT_EQ(load().settleMs, g.ms) << g.value;
    }
    for (const char* bad : {"-1", "abc", "5s", "3601", "nan", "inf", "1e9"}) {
        write("kexecd.conf", std::string("[Stage]\nSettleDelaySec=") + bad + "\n");
        auto msg = loadError();
        EXPECT_THAT(msg, HasSubstr(mainFile().string() + ":2")) << bad;
        EXPECT_THAT(msg, HasSubstr("SettleDelaySec")) << bad;
    }
}

TEST_F(ConfigTest, RebootUseKexec) {
    write("kexecd.conf", "[Reboot]\nUseKexec=yes\n");
    EXPECT_TRUE(load().rebootUsesKexec);
    write("kexecd.conf.d/10-off.conf", "[Reboot]\nUseKexec=no\n");
    EXPECT_FALSE(load().rebootUsesKexec);
    // UseKexec belongs to [Reboot], not [Stage].
    write("kexecd.conf.d/10-off.conf", "[Stage]\nUseKexec=yes\n");
    warnings_.clear();
    EXPECT_TRUE(load().rebootUsesKexec);  // the main file's yes
    write("kexecd.conf", "");
    warnings_.clear();
    EXPECT_FALSE(load().rebootUsesKexec);
    ASSERT_EQ(warnings_.size(), 1u);
    EXPECT_THAT(warnings_[0], HasSubstr("UseKexec"));
}

// --- Lines as inih would misread them (issue 9, defects 5 and 8) ---

// --- The pure parser ---

TEST_F(ConfigTest, ParseConfigTextAppliesOnTopAndNamesItsInput) {
    Config c;
    c.cmdlineAppend = "quiet";
    parseConfigText("[Stage]\nCmdlineAppend=panic=10\nBogus=1\n", "<drop-in>", &c, &warnings_);
    EXPECT_EQ(c.cmdlineAppend, "quiet panic=10");
    ASSERT_EQ(warnings_.size(), 1u);
    EXPECT_EQ(warnings_[0], "<drop-in>:3: unknown key Bogus in [Stage], ignoring");
    parseConfigText("", "<empty>", &c, &warnings_);
    EXPECT_EQ(c.cmdlineAppend, "quiet panic=10");
}

}  // namespace
}  // namespace kexecd
