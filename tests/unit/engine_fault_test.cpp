// Faults around a staging: bad text, a record that cannot be written, a
// hostile state file. Each must end in a clear error with nothing lost, never
// in a crash or in a kernel loaded behind the properties' back.
#include <sys/stat.h>
#include <unistd.h>

#include "engine_fixture.hpp"
#include "state.hpp"

namespace kexecd {
namespace {

using namespace kexecd::test;

TEST_F(EngineTest, Latin1ProcCmdlineIsRefusedBeforeLoading) {
    tree_.cmdline("root=/dev/vda1 ro label=caf\xe9");
    auto e = engine(noAutoStage());
    e->start();
    Error err = errorOf([&] { e->stage("", ""); });
    EXPECT_EQ(err.code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(err.what(), HasSubstr("not valid UTF-8: byte 27 (0xe9)"));
    EXPECT_THAT(err.what(), HasSubstr("/proc/cmdline"));
    EXPECT_TRUE(loads_.empty());
    EXPECT_FALSE(loaded_);
    EXPECT_EQ(e->status().stagedVersion, "");
}

TEST_F(EngineTest, NonUtf8CmdlineAppendWithAutoStageLeavesNothingLoaded) {
    Config c;
    c.cmdlineAppend = "label=caf\xe9";
    auto e = engine(c);
    auto problem = e->start();  // must not throw: the daemon keeps serving
    ASSERT_TRUE(problem.has_value());
    EXPECT_THAT(*problem, HasSubstr("not valid UTF-8"));
    EXPECT_TRUE(loads_.empty());
    EXPECT_FALSE(fs::exists(stateFile()));
}

TEST_F(EngineTest, NonUtf8CustomCmdlineIsInvalidArgument) {
    auto e = engine(noAutoStage());
    e->start();
    Error err = errorOf([&] { e->stage(kNew, "root=/dev/vda \xff\xfe"); });
    EXPECT_EQ(err.code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(err.what(), HasSubstr("byte 14"));
    EXPECT_TRUE(loads_.empty());
}

TEST_F(EngineTest, RecordThatCannotBeWrittenKeepsTheStagingVisible) {
    // /run/kexecd is a file: the state cannot be written after the load.
    fs::create_directories(host("/run"));
    tree_.file("/run/kexecd", "not a directory\n");
    auto e = engine(noAutoStage());
    e->start();
    Error err = errorOf([&] { e->stage(kNew, ""); });
    EXPECT_EQ(err.code(), ErrorCode::Failed);
    EXPECT_THAT(err.what(), HasSubstr("staged " + kNew + ", but could not record it"));
    ASSERT_EQ(loads_.size(), 1u);
    // The kernel holds it, and so do the properties: nothing is lost.
    EXPECT_TRUE(loaded_);
    EXPECT_EQ(e->status().stagedVersion, kNew);
    EXPECT_EQ(e->status().stagedOrigin, "kexecd");
    // And it can be unstaged again.
    EXPECT_NO_THROW(e->unstage());
    EXPECT_FALSE(loaded_);
}

// The parameter is a name only: gtest prints parameters into its XML report.
class HostileStateTest : public EngineTest, public ::testing::WithParamInterface<const char*> {
  protected:
    static std::string content(const std::string& kind) {
        if (kind == "wrong_types")
            return R"({"format":1,"version":7,"kernel":[],"initrds":"x","cmdline":null,
                       "custom":"yes","simulated":1,"files":{}})";
        if (kind == "not_json") return "\x01\x02garbage{{{";
        if (kind == "invalid_utf8") return "{\"format\":1,\"version\":\"\xff\"}";
        if (kind == "huge") return std::string(100u << 20, ' ');
        return "";
    }
};

TEST_P(HostileStateTest, IsIgnoredWithoutCrashOrHang) {
    const std::string kind = GetParam();
    fs::create_directories(stateFile().parent_path());
    if (kind == "fifo") {
        ASSERT_EQ(::mkfifo(stateFile().c_str(), 0600), 0);
    } else if (kind == "symlink") {
        tree_.file(
            "/etc/victim.json",
            stateToJson(Staged{kNew, "/boot/vmlinuz-" + kNew, {}, "x", false, false, {}, {}, 0}));
        fs::create_symlink(host("/etc/victim.json"), stateFile());
    } else if (kind == "directory") {
        fs::create_directories(stateFile());
    } else {
        tree_.file("/run/kexecd/state.json", content(kind));
    }
    loaded_ = true;  // whatever is loaded, this record does not prove it is ours
    auto e = engine(noAutoStage());
    EXPECT_EQ(e->start(), std::nullopt);
    EXPECT_EQ(e->status().stagedVersion, "");
    EXPECT_EQ(e->status().stagedOrigin, "foreign");
    if (kind == "symlink") {
        // Staging replaces the link itself, never writes through it.
        e->stage(kNew, "");
        EXPECT_FALSE(fs::is_symlink(stateFile()));
        EXPECT_THAT(loadState(host("/etc/victim.json"))->cmdline, "x");
    }
}

INSTANTIATE_TEST_SUITE_P(Engine, HostileStateTest,
                         ::testing::Values("wrong_types", "not_json", "invalid_utf8", "huge",
                                           "fifo", "symlink", "directory"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace kexecd
