#include "cmdline.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "error.hpp"

namespace kexecd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Runs `f`, which must throw Error(code); returns the message.
template <typename F>
std::string errorOf(F&& f, ErrorCode code) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no Error thrown";
    return "";
}

TEST(SplitCmdline, Whitespace) {
    EXPECT_THAT(splitCmdline("  root=/dev/vda1\tro \n quiet\n"),
                ElementsAre("root=/dev/vda1", "ro", "quiet"));
    EXPECT_THAT(splitCmdline(""), ElementsAre());
    EXPECT_THAT(splitCmdline("   \n"), ElementsAre());
}

TEST(SplitCmdline, QuotesKeepSpaces) {
    EXPECT_THAT(splitCmdline(R"(root="LABEL=my disk" ro "quoted word" x="a b"c)"),
                ElementsAre(R"(root="LABEL=my disk")", "ro", R"("quoted word")", R"(x="a b"c)"));
}

TEST(ParamName, DashesAndUnderscoresAreTheSame) {
    EXPECT_EQ(paramName("root=/dev/vda1"), "root");
    EXPECT_EQ(paramName("quiet"), "quiet");
    EXPECT_EQ(paramName("rd.lvm-lv=vg/root"), "rd.lvm_lv");
    EXPECT_EQ(paramName("systemd.unified-cgroup-hierarchy=1"),
              paramName("systemd.unified_cgroup_hierarchy=0"));
    EXPECT_EQ(paramName(R"(root="LABEL=a b")"), "root");
    EXPECT_EQ(paramName("a-b=c-d"), "a_b");
}

TEST(DeriveCmdline, DropsBootImageAndInitrd) {
    EXPECT_EQ(
        deriveCmdline(
            "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=0a1b ro initrd=\\initrd.img quiet\n",
            {}, ""),
        "root=UUID=0a1b ro quiet");
    EXPECT_EQ(deriveCmdline("BOOT_IMAGE=(hd0,gpt2)/vmlinuz root=/dev/sda2", {}, ""),
              "root=/dev/sda2");
}

TEST(DeriveCmdline, KeepsQuotedValuesWithSpaces) {
    EXPECT_EQ(deriveCmdline(R"(BOOT_IMAGE=/vmlinuz root="LABEL=my disk" ro)", {}, ""),
              R"(root="LABEL=my disk" ro)");
}

TEST(DeriveCmdline, CmdlineRemoveDashUnderscoreEquivalence) {
    std::string proc =
        "root=/dev/vda1 ro quiet splash systemd.unified_cgroup_hierarchy=0 "
        "console=tty0 console=ttyS0,115200 rd.lvm-lv=vg/root";
    EXPECT_EQ(deriveCmdline(proc, {"quiet", "console"}, ""),
              "root=/dev/vda1 ro splash systemd.unified_cgroup_hierarchy=0 rd.lvm-lv=vg/root");
    EXPECT_EQ(deriveCmdline(proc, {"systemd.unified-cgroup-hierarchy", "rd.lvm_lv"}, ""),
              "root=/dev/vda1 ro quiet splash console=tty0 console=ttyS0,115200");
    // A removal given as name=value removes by name.
    EXPECT_EQ(deriveCmdline(proc, {"console=whatever", "splash"}, ""),
              "root=/dev/vda1 ro quiet systemd.unified_cgroup_hierarchy=0 rd.lvm-lv=vg/root");
}

TEST(DeriveCmdline, CmdlineAppend) {
    EXPECT_EQ(deriveCmdline("root=/dev/vda1 ro", {}, "mitigations=off  panic=10"),
              "root=/dev/vda1 ro mitigations=off panic=10");
    EXPECT_EQ(deriveCmdline("root=/dev/vda1 ro quiet", {"quiet"}, "loglevel=7"),
              "root=/dev/vda1 ro loglevel=7");
    EXPECT_EQ(deriveCmdline("", {}, "root=/dev/vda1"), "root=/dev/vda1");
    EXPECT_EQ(deriveCmdline("root=/dev/vda1", {}, R"(x="a  b")"), R"(root=/dev/vda1 x="a  b")");
}

TEST(DeriveCmdline, WordsAfterDoubleDashAreForInit) {
    // Kept as they are, even names that would be dropped before "--", and
    // appended kernel parameters go before "--".
    EXPECT_EQ(deriveCmdline("BOOT_IMAGE=/vmlinuz root=/dev/vda1 quiet -- single initrd=keep quiet",
                            {"quiet"}, "panic=10"),
              "root=/dev/vda1 panic=10 -- single initrd=keep quiet");
    EXPECT_EQ(deriveCmdline("root=/dev/vda1 --", {}, "panic=10"), "root=/dev/vda1 panic=10 --");
}

TEST(ValidateCmdline, Length) {
    EXPECT_NO_THROW(validateCmdline(""));
    EXPECT_NO_THROW(validateCmdline(std::string(2047, 'a')));
    auto msg = errorOf([] { validateCmdline(std::string(2048, 'a')); }, ErrorCode::InvalidArgument);
    EXPECT_THAT(msg, HasSubstr("2048"));
    EXPECT_THAT(msg, HasSubstr("2047"));
    errorOf([] { validateCmdline(std::string(10000, 'a')); }, ErrorCode::InvalidArgument);
}

TEST(ValidateCmdline, ControlCharacters) {
    EXPECT_NO_THROW(validateCmdline("root=/dev/vda1\tro"));
    for (char c : {'\n', '\r', '\x01', '\x1b', '\x1f'}) {
        std::string s = "root=/dev/vda1";
        s += c;
        s += "ro";
        auto msg = errorOf([&] { validateCmdline(s); }, ErrorCode::InvalidArgument);
        EXPECT_THAT(msg, HasSubstr("control character")) << int(c);
    }
    errorOf([] { validateCmdline(std::string("root=/dev/vda1\0ro", 17)); },
            ErrorCode::InvalidArgument);
}

TEST(ValidateCmdline, UnbalancedQuote) {
    EXPECT_NO_THROW(validateCmdline(R"(root="LABEL=my disk" ro)"));
    auto msg =
        errorOf([] { validateCmdline(R"(root="LABEL=my disk ro)"); }, ErrorCode::InvalidArgument);
    EXPECT_THAT(msg, HasSubstr("quote"));
}

TEST(ValidateCmdline, DerivedFromLongProcCmdlinePlusAppendIsRejected) {
    std::string proc = "root=/dev/vda1 " + std::string(2010, 'x');
    std::string derived = deriveCmdline(proc, {}, "panic=10 mitigations=off");
    EXPECT_GT(derived.size(), 2047u);
    errorOf([&] { validateCmdline(derived); }, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace kexecd
