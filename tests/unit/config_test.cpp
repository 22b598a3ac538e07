#include "config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "error.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::string_literals;

class ConfigTest : public ::testing::Test {
  protected:
    std::filesystem::path mainFile() const { return dir_ / "kexecd.conf"; }
    void write(const std::string& rel, const std::string& text) {
        fixture::writeFile(dir_ / rel, text);
    }
    Config load() { return loadConfig(mainFile(), &warnings_); }

    // Loading must throw Error(InvalidArgument); returns the message.
    std::string loadError() {
        try {
            load();
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "loadConfig did not throw";
        return "";
    }

    // Loads in a child process that is killed after 5 s, so that a load
    // that blocks (a FIFO opened for reading) fails the test instead of
    // hanging it. Returns the error message (or "") followed by the
    // warnings, each after "\nwarning: ", or "BLOCKED".
    std::string loadErrorWithDeadline() {
        int fds[2];
        EXPECT_EQ(::pipe(fds), 0);
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(fds[0]);
            std::string msg;
            try {
                load();
            } catch (const Error& e) {
                msg = e.what();
            }
            for (auto& w : warnings_) msg += "\nwarning: " + w;
            ssize_t n = ::write(fds[1], msg.data(), msg.size());
            ::_exit(n == static_cast<ssize_t>(msg.size()) ? 0 : 1);
        }
        ::close(fds[1]);
        int status = 0;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (::waitpid(pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                ::close(fds[0]);
                return "BLOCKED";
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
            out.append(buf, static_cast<size_t>(n));
        ::close(fds[0]);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return out;
    }

    // parseConfigText on its own, with a name that is not a path.
    std::string parseError(const std::string& text) {
        Config c;
        try {
            parseConfigText(text, "test.conf", &c, &warnings_);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "parseConfigText did not throw on: " << text;
        return "";
    }
    Config parse(const std::string& text) {
        Config c;
        parseConfigText(text, "test.conf", &c, &warnings_);
        return c;
    }

    test::TempDir dir_;
    std::vector<std::string> warnings_;
};

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

TEST_F(ConfigTest, LongLineIsAnErrorNeverSplit) {
    // Debian's libinih reads lines into 200 bytes; the old parser took the
    // rest of a longer line for a line of its own: the command line lost
    // rd.luks.uuid= and only a warning about an unknown key was left.
    std::string value = "console=ttyS0,115200 " + std::string(180, 'x') +
                        " rd.luks.uuid=4f1b2c3d-0000-4000-8000-000000000000";
    auto msg = parseError("[Stage]\nCmdlineAppend=" + value + "\n");
    EXPECT_THAT(msg, StartsWith("test.conf:2: line is longer than "));
    EXPECT_THAT(msg, HasSubstr(" bytes; split it (CmdlineAppend= may be given several times)"));
    EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ConfigTest, LineAtTheLimitIsKeptWholeOneMoreIsRefused) {
    // The limit is whatever the libinih at hand gives its reader (198 with
    // Debian's 200-byte buffer): found from the message, then checked at
    // both sides, so that no length in between is cut.
    auto msg = parseError("[Stage]\nCmdlineAppend=" + std::string(5000, 'a') + "\n");
    size_t at = msg.find("longer than ");
    ASSERT_NE(at, std::string::npos) << msg;
    size_t limit = std::stoul(msg.substr(at + 12));
    ASSERT_GE(limit, 100u) << msg;
    const std::string key = "CmdlineAppend=";
    for (size_t len = limit - 20; len <= limit + 20; ++len) {
        std::string value(len - key.size(), 'v');
        std::string text = "[Stage]\n" + key + value + "\n";
        if (len <= limit) {
            EXPECT_EQ(parse(text).cmdlineAppend, value) << len;
        } else {
            EXPECT_THAT(parseError(text), HasSubstr(":2: line is longer than")) << len;
        }
    }
    EXPECT_EQ(limit, 198u) << "Debian's libinih has INI_MAX_LINE 200; a different build?";
}

TEST_F(ConfigTest, LongCommentsAreFine) {
    Config c = parse("# " + std::string(1000, '#') + "\n[Stage]\n; " + std::string(500, 'c') +
                     "\nAutoStage=no\n");
    EXPECT_FALSE(c.autoStage);
}

TEST_F(ConfigTest, SemicolonAndHashInsideAValueAreKept) {
    Config c = parse(
        "[Stage]\n"
        "CmdlineAppend=init=/bin/sh -c \"echo a ;b\"\n"
        "CmdlineAppend=x=1 ; y=2 # z=3\n"
        "CmdlineRemove=quiet ;splash\n");
    EXPECT_EQ(c.cmdlineAppend, "init=/bin/sh -c \"echo a ;b\" x=1 ; y=2 # z=3");
    EXPECT_THAT(c.cmdlineRemove, ElementsAre("quiet", ";splash"));
}

TEST_F(ConfigTest, OnlyWholeLinesAreComments) {
    Config c = parse(
        "# a comment\n"
        "; another\n"
        "   # indented\n"
        "\t; tab-indented\n"
        "[Stage]\n"
        "#AutoStage=no\n"
        "  ;RequireInitrd=no\n"
        "RequireModules=no\n");
    EXPECT_TRUE(c.autoStage);
    EXPECT_TRUE(c.requireInitrd);
    EXPECT_FALSE(c.requireModules);
}

TEST_F(ConfigTest, TrailingTextAfterABooleanIsAnError) {
    // Under the old rules "; comment" was dropped and this said no.
    auto msg = parseError("[Stage]\nAutoStage=no ; because\n");
    EXPECT_THAT(msg, HasSubstr("test.conf:2: AutoStage=no ; because is not yes or no"));
}

TEST_F(ConfigTest, IndentedLineIsNotAContinuation) {
    // inih takes an indented line for more of the previous value.
    Config c = parse("[Stage]\nCmdlineAppend=a\n    CmdlineAppend=b\n\tAutoStage=no\n");
    EXPECT_EQ(c.cmdlineAppend, "a b");
    EXPECT_FALSE(c.autoStage);
    auto msg = parseError("[Stage]\nCmdlineRemove=quiet\n    splash\n");
    EXPECT_THAT(msg, HasSubstr("test.conf:3: expected [Section] or Key=value"));
}

TEST_F(ConfigTest, SectionHeaderAloneOnItsLine) {
    for (const char* bad : {"[Stage] AutoStage=no", "[Stage", "[Stage]]", "[]", "[a]b]"}) {
        auto msg = parseError(std::string("# x\n") + bad + "\n");
        EXPECT_THAT(msg, HasSubstr("test.conf:2: a section header is [Name] alone on its line"))
            << bad;
    }
    EXPECT_FALSE(parse("  [Stage]  \nAutoStage=no\n").autoStage);
}

TEST_F(ConfigTest, ColonIsNotAnAssignment) {
    // inih would read this as AutoStage=no; systemd does not.
    auto msg = parseError("[Stage]\nAutoStage:no\n");
    EXPECT_THAT(msg, HasSubstr("test.conf:2: expected [Section] or Key=value"));
    EXPECT_THAT(parseError("[Stage]\n=no\n"), HasSubstr(":2: expected"));
    // In a value it is only a character.
    EXPECT_EQ(parse("[Stage]\nCmdlineAppend=root=PARTUUID=a:b\n").cmdlineAppend,
              "root=PARTUUID=a:b");
}

TEST_F(ConfigTest, WindowsLineEndingsAndByteOrderMark) {
    Config c = parse("\xEF\xBB\xBF[Stage]\r\nAutoStage=no\r\nCmdlineAppend=a\r\n");
    EXPECT_FALSE(c.autoStage);
    EXPECT_EQ(c.cmdlineAppend, "a");
}

TEST_F(ConfigTest, LastLineWithoutNewline) {
    EXPECT_EQ(parse("[Stage]\nCmdlineAppend=panic=10").cmdlineAppend, "panic=10");
}

// --- Text that cannot be shown or passed on (issue 9, defect 1) ---

TEST_F(ConfigTest, NotUtf8IsAnErrorNamingTheByte) {
    // A Latin-1 é: byte 24 of the line, counted from 1 like editors do.
    auto msg = parseError("[Stage]\nCmdlineAppend=label=caf\xe9\n");
    EXPECT_EQ(msg, "test.conf:2: not valid UTF-8 (byte 24)");
    EXPECT_THAT(parseError("# caf\xe9\n"), HasSubstr("test.conf:1: not valid UTF-8 (byte 6)"));
    // Overlong '/' and a surrogate are not UTF-8 either.
    EXPECT_THAT(parseError("[Stage]\nCmdlineAppend=\xc0\xaf\n"), HasSubstr(":2: not valid UTF-8"));
    EXPECT_THAT(parseError("[Stage]\nCmdlineAppend=\xed\xa0\x80\n"),
                HasSubstr(":2: not valid UTF-8"));
    // Real UTF-8 is fine.
    EXPECT_EQ(parse("[Stage]\nCmdlineAppend=label=café\n").cmdlineAppend, "label=café");
}

TEST_F(ConfigTest, ControlCharactersAreAnError) {
    EXPECT_EQ(parseError("[Stage]\nCmdlineAppend=a\x1b[2Kb\n"),
              "test.conf:2: control character 0x1b (byte 16)");
    // A NUL would end the value for inih: the rest would be lost unseen.
    EXPECT_EQ(parseError("[Stage]\nCmdlineAppend=a\0 rd.luks.uuid=1\n"s),
              "test.conf:2: control character 0x00 (byte 16)");
    EXPECT_EQ(parseError("[Stage]\nCmdlineAppend=a\rb\n"),
              "test.conf:2: control character 0x0d (byte 16)");
    EXPECT_EQ(parseError("[Stage]\nCmdlineAppend=a\x7f\n"),
              "test.conf:2: control character 0x7f (byte 16)");
    EXPECT_EQ(parseError("[Stage]\nCmdlineAppend=a\xc2\x85\n"),
              "test.conf:2: control character U+0085 (byte 16)");
    EXPECT_EQ(parseError("[Stage]\nFoo\x01=1\n"), "test.conf:2: control character 0x01 (byte 4)");
    // A tab is whitespace; in a message it is escaped, to keep it one line
    // of plain text (found by fuzz-config).
    EXPECT_EQ(parse("[Stage]\nCmdlineAppend=a\tb\n").cmdlineAppend, "a\tb");
    EXPECT_EQ(parseError("[Stage]\nAutoStage=no\tway\n"),
              "test.conf:2: AutoStage=no\\x09way is not yes or no");
}

TEST_F(ConfigTest, FileNamesInMessagesAreEscaped) {
    write("kexecd.conf.d/50-\x1b[2K.conf", "[Stage]\nAutoStage=maybe\n");
    auto msg = loadError();
    EXPECT_THAT(msg, HasSubstr("50-\\x1b[2K.conf:2: AutoStage=maybe"));
    EXPECT_THAT(msg, Not(HasSubstr("\x1b")));
}

// --- Files that are not regular files (issue 9, defect 9) ---

TEST_F(ConfigTest, DirectoryAsConfigFileIsAnError) {
    std::filesystem::create_directories(mainFile());
    auto msg = loadError();
    EXPECT_THAT(msg, HasSubstr(mainFile().string() + " is a directory"));
}

TEST_F(ConfigTest, FifoAsConfigFileIsAnErrorAndNeverBlocks) {
    ASSERT_EQ(::mkfifo(mainFile().c_str(), 0600), 0);
    EXPECT_EQ(loadErrorWithDeadline(), mainFile().string() + " is not a regular file");
}

TEST_F(ConfigTest, SymlinkToDevZeroIsAnError) {
    std::filesystem::create_symlink("/dev/zero", mainFile());
    EXPECT_THAT(loadErrorWithDeadline(), HasSubstr(" is not a regular file"));
}

TEST_F(ConfigTest, SymlinkToARegularFileIsFollowed) {
    write("real.conf", "[Stage]\nAutoStage=no\n");
    std::filesystem::create_symlink(dir_ / "real.conf", mainFile());
    EXPECT_FALSE(load().autoStage);
}

TEST_F(ConfigTest, HugeConfigFileIsRefused) {
    // Comments only: the old parser read it all and said nothing.
    std::string text;
    while (text.size() <= kConfigFileMax) text += "# " + std::string(97, '-') + "\n";
    write("kexecd.conf", text);
    EXPECT_THAT(loadError(), HasSubstr(mainFile().string() + " is larger than 1 MiB"));
}

TEST_F(ConfigTest, DropInsThatAreNotRegularFilesAreWarnedAboutAndSkipped) {
    write("kexecd.conf", "[Stage]\nSettleDelaySec=1\n");
    write("kexecd.conf.d/10-a.conf", "[Stage]\nSettleDelaySec=2\n");
    std::filesystem::create_directories(dir_ / "kexecd.conf.d/20-dir.conf");
    ASSERT_EQ(::mkfifo((dir_ / "kexecd.conf.d/30-fifo.conf").c_str(), 0600), 0);
    std::filesystem::create_symlink("/dev/zero", dir_ / "kexecd.conf.d/40-zero.conf");
    write("kexecd.conf.d/50-b.conf", "[Stage]\nAutoStage=no\n");

    std::string out = loadErrorWithDeadline();
    ASSERT_NE(out, "BLOCKED");
    EXPECT_THAT(out, StartsWith("\nwarning: "));  // no error
    EXPECT_THAT(out, HasSubstr("20-dir.conf is not a regular file, skipping it"));
    EXPECT_THAT(out, HasSubstr("30-fifo.conf is not a regular file, skipping it"));
    EXPECT_THAT(out, HasSubstr("40-zero.conf is not a regular file, skipping it"));

    ::unlink((dir_ / "kexecd.conf.d/30-fifo.conf").c_str());
    Config c = load();
    EXPECT_EQ(c.settleMs, 2000u);  // 10-a applied
    EXPECT_FALSE(c.autoStage);     // 50-b too, after the skipped ones
    EXPECT_EQ(warnings_.size(), 2u);
}

TEST_F(ConfigTest, DropInDirectoryThatIsAFileIsAnError) {
    write("kexecd.conf", "[Stage]\nAutoStage=no\n");
    write("kexecd.conf.d", "[Stage]\nAutoStage=yes\n");
    EXPECT_THAT(loadError(), HasSubstr("cannot read " + mainFile().string() + ".d: "));
}

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
