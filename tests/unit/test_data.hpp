#pragma once
// Files of tests/unit/data/ (grub.cfg as update-grub writes it, ...) and
// GRUB's environment block, for the boot loader tests.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace kexecd::test {

inline std::string testData(const std::string& name) {
    std::ifstream in(std::string(KEXECD_TEST_DATA) + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    if (ss.str().empty()) ADD_FAILURE() << "missing test data " << name;
    return ss.str();
}

// grubenv: a header, name=value lines, '#' padding to 1024 bytes.
inline std::string grubenvBlock(const std::string& lines) {
    std::string s = "# GRUB Environment Block\n" + lines;
    s.resize(1024, '#');
    return s;
}

}  // namespace kexecd::test
