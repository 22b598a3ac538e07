// loadSystemConfig: /etc/kexecd.conf and the drop-in directories of /etc,
// /run, /usr/local/lib and /usr/lib, with systemd's precedence.
#include "config_fixture.hpp"

namespace kexecd {
namespace {

class SystemConfigTest : public ConfigTest {
  protected:
    Config loadSystem() { return loadSystemConfig(Root(dir_.path()), &warnings_); }
    std::string loadSystemError() {
        try {
            loadSystem();
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "loadSystemConfig did not throw";
        return "";
    }
};

TEST_F(SystemConfigTest, NothingAtAllGivesDefaults) {
    Config c = loadSystem();
    EXPECT_TRUE(c.autoStage);
    EXPECT_EQ(c.cmdlineAppend, "");
    EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(SystemConfigTest, EveryDirectoryIsRead) {
    write("usr/lib/kexecd.conf.d/10-vendor.conf", "[Stage]\nCmdlineAppend=vendor\n");
    write("usr/local/lib/kexecd.conf.d/20-local.conf", "[Stage]\nCmdlineAppend=local\n");
    write("run/kexecd.conf.d/30-runtime.conf", "[Stage]\nCmdlineAppend=runtime\n");
    write("etc/kexecd.conf.d/40-admin.conf", "[Stage]\nCmdlineAppend=admin\n");
    write("etc/kexecd.conf", "[Stage]\nCmdlineAppend=main\n");
    // The main file first, then the drop-ins by name, whatever the directory.
    EXPECT_EQ(loadSystem().cmdlineAppend, "main vendor local runtime admin");
}

TEST_F(SystemConfigTest, EtcOverridesRunOverridesUsrLibForTheSameName) {
    write("usr/lib/kexecd.conf.d/50-x.conf", "[Stage]\nAutoStage=no\nCmdlineAppend=usr\n");
    write("run/kexecd.conf.d/50-x.conf", "[Stage]\nCmdlineAppend=run\n");
    Config c = loadSystem();
    EXPECT_EQ(c.cmdlineAppend, "run");
    EXPECT_TRUE(c.autoStage) << "the /usr/lib file of that name must not be read at all";
    write("etc/kexecd.conf.d/50-x.conf", "[Stage]\nCmdlineAppend=etc\n");
    EXPECT_EQ(loadSystem().cmdlineAppend, "etc");
}

TEST_F(SystemConfigTest, OrderIsByNameAcrossDirectories) {
    write("etc/kexecd.conf.d/10-a.conf", "[Stage]\nAutoStage=no\n");
    write("usr/lib/kexecd.conf.d/90-z.conf", "[Stage]\nAutoStage=yes\n");
    EXPECT_TRUE(loadSystem().autoStage) << "90-z.conf comes after 10-a.conf";
}

TEST_F(SystemConfigTest, DevNullSymlinkMasksTheVendorFile) {
    write("usr/lib/kexecd.conf.d/50-vendor.conf", "[Stage]\nAutoStage=no\n");
    std::filesystem::create_directories(dir_ / "etc/kexecd.conf.d");
    std::filesystem::create_symlink("/dev/null", dir_ / "etc/kexecd.conf.d/50-vendor.conf");
    EXPECT_TRUE(loadSystem().autoStage);
    EXPECT_THAT(warnings_, IsEmpty()) << "a mask is not a file to warn about";
}

TEST_F(SystemConfigTest, MessagesNameThePathAsTheSystemSeesIt) {
    write("usr/lib/kexecd.conf.d/50-vendor.conf", "[Stage]\nAutoStage=maybe\n");
    EXPECT_THAT(loadSystemError(), StartsWith("/usr/lib/kexecd.conf.d/50-vendor.conf:2: "));
}

TEST_F(SystemConfigTest, OnlyConfFilesCount) {
    write("run/kexecd.conf.d/50-x.conf.dpkg-old", "[Stage]\nAutoStage=no\n");
    write("run/kexecd.conf.d/README", "not a configuration file\n");
    EXPECT_TRUE(loadSystem().autoStage);
}

}  // namespace
}  // namespace kexecd
