#include "state.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "error.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {
namespace {

using ::testing::HasSubstr;

Staged sample() {
    Staged s;
    s.version = "6.12.12+deb12-amd64";
    s.kernel = "/boot/vmlinuz-6.12.12+deb12-amd64";
    s.initrds = {"/boot/intel-ucode.img", "/boot/initrd.img-6.12.12+deb12-amd64"};
    s.cmdline = R"(root="LABEL=my disk" ro quiet -- single)";
    s.custom = true;
    s.simulated = false;
    s.files = {
        {"/boot/vmlinuz-6.12.12+deb12-amd64", {2049, 1234567, 9876543, 1732512345123456789LL}},
        {"/boot/intel-ucode.img", {2049, 42, 100, 1}},
        {"/boot/initrd.img-6.12.12+deb12-amd64", {0xffffffffffffffffULL, 7, 0, -5}}};
    s.bytes = 9876643;
    return s;
}

TEST(StateJson, RoundTrip) {
    Staged s = sample();
    Staged back = stateFromJson(stateToJson(s));
    EXPECT_EQ(back, s);
    EXPECT_EQ(back.files.at(2).id.dev, 0xffffffffffffffffULL);
    EXPECT_EQ(back.files.at(0).id.mtimeNs, 1732512345123456789LL);

    Staged plain;
    plain.version = "6.1.0-13-amd64";
    plain.simulated = true;
    EXPECT_EQ(stateFromJson(stateToJson(plain)), plain);
}

TEST(StateJson, FieldsMatter) {
    Staged a = sample();
    Staged b = a;
    b.custom = false;
    EXPECT_NE(stateToJson(a), stateToJson(b));
    EXPECT_EQ(stateFromJson(stateToJson(b)).custom, false);
}

TEST(StateJson, RecordsOfOlderVersionsHaveNoBytes) {
    const char* old = R"({"format":1,"version":"6.1.0-13-amd64","kernel":"","initrds":[],)"
                      R"("cmdline":"","custom":false,"simulated":true,"files":[]})";
    EXPECT_EQ(stateFromJson(old).bytes, 0u);
    std::string negative = stateToJson(sample());
    negative.replace(negative.find("9876643"), 7, "-1");
    EXPECT_THROW(stateFromJson(negative), Error);
}

TEST(StateJson, MalformedThrowsFailed) {
    // A wrong type in an otherwise complete record.
    const char* wrongType = R"({"format":1,"version":5,"kernel":"","initrds":[],"cmdline":"",)"
                            R"("custom":false,"simulated":false,"files":[]})";
    for (const char* bad : {"", "{", "[]", "null", R"({"format": 1})",
                            R"({"format": 2, "version": "x"})", wrongType}) {
        try {
            stateFromJson(bad);
            ADD_FAILURE() << "accepted: " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::Failed) << bad;
        }
    }
}

TEST(StateFile, SaveAndLoad) {
    test::TempDir dir;
    auto file = dir / "run/kexecd/state.json";  // the directory is created
    EXPECT_EQ(loadState(file), std::nullopt);
    saveState(file, sample());
    auto back = loadState(file);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, sample());
}

TEST(StateFile, CorruptFileThrows) {
    test::TempDir dir;
    auto file = dir / "state.json";
    std::string json = stateToJson(sample());
    fixture::writeFile(file, json.substr(0, json.size() / 2));
    try {
        loadState(file);
        ADD_FAILURE() << "corrupt state accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Failed);
        EXPECT_THAT(e.what(), HasSubstr(file.string()));
    }
}

TEST(StateFile, AtomicWriteLeavesNoTemporary) {
    test::TempDir dir;
    auto file = dir / "run/kexecd/state.json";
    Staged s = sample();
    saveState(file, s);
    s.version = "6.1.0-13-amd64";
    saveState(file, s);  // replaces
    EXPECT_EQ(loadState(file)->version, "6.1.0-13-amd64");
    std::vector<std::string> names;
    for (auto& e : std::filesystem::directory_iterator(file.parent_path()))
        names.push_back(e.path().filename().string());
    EXPECT_THAT(names, ::testing::ElementsAre("state.json"));
}

TEST(StateFile, Remove) {
    test::TempDir dir;
    auto file = dir / "state.json";
    saveState(file, sample());
    removeState(file);
    EXPECT_FALSE(std::filesystem::exists(file));
    EXPECT_NO_THROW(removeState(file));  // already gone is fine
    EXPECT_EQ(loadState(file), std::nullopt);
}

}  // namespace
}  // namespace kexecd
