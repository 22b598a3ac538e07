// kexecctl check: the pre-flight report, item by item, on fake roots.
#include <fstream>
#include <sstream>

#include "engine_fixture.hpp"

namespace kexecd {
namespace {

using namespace kexecd::test;

std::string verdictOf(const std::vector<CheckItem>& items, const std::string& name) {
    std::string out;
    for (auto& i : items)
        if (i.name == name) out += (out.empty() ? "" : ",") + i.verdict;
    return out.empty() ? "(missing)" : out;
}

std::string textOf(const std::vector<CheckItem>& items, const std::string& name) {
    for (auto& i : items)
        if (i.name == name) return i.text;
    return "";
}

TEST_F(EngineTest, CheckOnAPlainSystem) {
    tree_.file("/sys/kernel/kexec_loaded", "0\n");
    tree_.file("/etc/kernel/cmdline", "root=UUID=0a1b2c3d ro quiet\n");
    auto e = engine();
    e->start();
    auto items = e->check(255);
    EXPECT_EQ(verdictOf(items, "kexec"), "ok");
    EXPECT_EQ(verdictOf(items, "secure-boot"), "ok");
    EXPECT_EQ(verdictOf(items, "staged"), "ok");
    EXPECT_THAT(textOf(items, "staged"), HasSubstr(kNew + " is staged; it holds 1 MiB"));
    EXPECT_EQ(verdictOf(items, "step-aside"), "ok");
    EXPECT_EQ(verdictOf(items, "tpm2"), "ok");
    EXPECT_EQ(verdictOf(items, "cmdline-drift"), "ok");
    EXPECT_EQ(verdictOf(items, "systemd"), "ok");
    EXPECT_EQ(verdictOf(items, "xen"), "(missing)");
}

TEST_F(EngineTest, CheckFindsEveryProblem) {
    tree_.file("/proc/sys/kernel/kexec_load_disabled", "1\n");
    tree_.file("/sys/kernel/kexec_loaded", "0\n");
    tree_.file("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
    tree_.file("/sys/hypervisor/type", "xen\n");
    tree_.file("/etc/crypttab", "root UUID=1 none tpm2-device=auto\n");
    tree_.file("/etc/kernel/cmdline", "root=UUID=0a1b2c3d ro splash\n");
    tree_.file("/no-kexec-reboot", "");
    auto e = engine();
    e->start();
    auto items = e->check(252);
    EXPECT_EQ(verdictOf(items, "kexec"), "fail");
    EXPECT_EQ(verdictOf(items, "secure-boot"), "warn");
    EXPECT_EQ(verdictOf(items, "xen"), "warn");
    EXPECT_EQ(verdictOf(items, "tpm2"), "warn");
    EXPECT_EQ(verdictOf(items, "step-aside"), "warn");
    EXPECT_EQ(verdictOf(items, "cmdline-drift"), "warn");
    EXPECT_THAT(textOf(items, "cmdline-drift"), HasSubstr(": -splash"));
    EXPECT_EQ(verdictOf(items, "systemd"), "warn");
    EXPECT_THAT(textOf(items, "systemd"), HasSubstr("only 'systemctl kexec'"));
}

TEST_F(EngineTest, CheckWithStepAsideOffFails) {
    tree_.file("/no-kexec-reboot", "");
    Config c;
    c.stepAside = false;
    auto e = engine(c);
    e->start();
    EXPECT_EQ(verdictOf(e->check(0), "step-aside"), "fail");
    EXPECT_EQ(verdictOf(e->check(0), "boot-loader"), "warn");
    EXPECT_EQ(verdictOf(e->check(0), "systemd"), "warn");
}

TEST(SystemdVersion, Parses) {
    EXPECT_EQ(parseSystemdVersion("252.39-1~deb12u1"), 252u);
    EXPECT_EQ(parseSystemdVersion("257"), 257u);
    EXPECT_EQ(parseSystemdVersion("x"), 0u);
    EXPECT_EQ(parseSystemdVersion("99999999999"), 0u);
}

}  // namespace
}  // namespace kexecd
