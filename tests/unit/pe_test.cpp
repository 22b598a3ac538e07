#include "pe.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pe_builder.hpp"
#include "text.hpp"

namespace kexecd {
namespace {

using test::buildPe;
using test::peSectionField;
using test::putLe16;
using test::putLe32;

PeSections parse(const std::string& file) {
    return parsePeSections(std::string_view(file).substr(0, kPeHeadBytes), file.size());
}

std::vector<std::string> names(const std::vector<PeSection>& sections) {
    std::vector<std::string> out;
    for (const auto& s : sections) out.push_back(s.name);
    return out;
}

TEST(PeSections, PlainUki) {
    const std::vector<std::pair<std::string, std::string>> in = {
        {".osrel", "ID=debian\nVERSION_ID=12\n"},
        {".cmdline", "root=/dev/vda ro quiet"},
        {".uname", "6.1.0-13-amd64"},
        {".linux", std::string(0x1234, 'K')},
        {".initrd", std::string(0x400, 'I')},
    };
    const std::string file = buildPe(in);
    auto r = parse(file);
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.sections.size(), 5u);
    // Headers fit in 0x400 bytes; each section's raw data is padded to 0x200.
    const std::vector<uint64_t> offsets = {0x400, 0x600, 0x800, 0xa00, 0x1e00};
    for (size_t i = 0; i < in.size(); ++i) {
        SCOPED_TRACE(in[i].first);
        EXPECT_EQ(r.sections[i].name, in[i].first);
        EXPECT_EQ(r.sections[i].offset, offsets[i]);
        EXPECT_EQ(r.sections[i].size, in[i].second.size());
        EXPECT_EQ(file.substr(r.sections[i].offset, r.sections[i].size), in[i].second);
    }
    EXPECT_EQ(file.size(), 0x2200u);
}

TEST(PeSections, EightByteNamesHaveNoNul) {
    auto r = parse(buildPe({{".cmdline", "quiet"}, {".pcrpkey", "key"}, {".ucode", "uc"}}));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(names(r.sections), (std::vector<std::string>{".cmdline", ".pcrpkey", ".ucode"}));
    EXPECT_EQ(r.sections[0].name.size(), 8u);
}

TEST(PeSections, SizeIsVirtualSizeNotPaddedRawSize) {
    const std::string file = buildPe({{".uname", "6.1.0"}});
    EXPECT_EQ(file.substr(peSectionField(0, 16), 4), std::string("\x00\x02\x00\x00", 4));
    auto r = parse(file);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.sections[0].size, 5u);
}

TEST(PeSections, VirtualSizeZeroIsEmpty) {
    std::string file = buildPe({{".cmdline", "quiet splash"}, {".osrel", ""}});
    putLe32(file, peSectionField(0, 8), 0);  // SizeOfRawData stays 0x200
    auto r = parse(file);
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.sections.size(), 2u);
    EXPECT_EQ(r.sections[0].offset, 0x200u);
    EXPECT_EQ(r.sections[0].size, 0u);
    EXPECT_EQ(r.sections[1].name, ".osrel");
    EXPECT_EQ(r.sections[1].size, 0u);
}

TEST(PeSections, NoSections) {
    std::string file = buildPe({});
    auto r = parse(file);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_TRUE(r.sections.empty());
}

TEST(PeSections, OverlappingSectionsAreReportedAsTheyAre) {
    std::string file = buildPe({{".linux", std::string(0x300, 'K')}, {".initrd", "initrd"}});
    putLe32(file, peSectionField(1, 20), 0x300);  // inside .linux
    auto r = parse(file);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.sections[0].offset, 0x200u);
    EXPECT_EQ(r.sections[0].size, 0x300u);
    EXPECT_EQ(r.sections[1].offset, 0x300u);
    EXPECT_EQ(r.sections[1].size, 6u);
}

TEST(PeSections, NamesKeepTheirRawBytes) {
    auto r = parse(buildPe({{std::string("\xff.a\0b", 5), "x"}}));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.sections[0].name, std::string("\xff.a\0b", 5));
}

TEST(PeSections, HeadPastFileSizeIsIgnored) {
    const std::string file = buildPe({{".linux", "kernel"}});
    auto r = parsePeSections(file, 0x100);
    EXPECT_EQ(r.error, "PE section table ends past the end of the file");
}

TEST(PeHostile, EmptyAndShort) {
    EXPECT_EQ(parsePeSections("", 0).error, "not a PE file (no MZ header)");
    EXPECT_EQ(parsePeSections("M", 1).error, "not a PE file (no MZ header)");
    EXPECT_EQ(parsePeSections("MZ", 2).error, "PE DOS header ends past the end of the file");
    const std::string file = buildPe({{".linux", "kernel"}});
    EXPECT_EQ(parsePeSections(std::string_view(file).substr(0, 0x3f), file.size()).error,
              "PE DOS header ends past the bytes read");
}

TEST(PeHostile, NoMz) {
    std::string file = buildPe({{".linux", "kernel"}});
    file[0] = 'Z';
    file[1] = 'M';
    EXPECT_EQ(parse(file).error, "not a PE file (no MZ header)");
}

TEST(PeHostile, PeHeaderPastHead) {
    std::string file = buildPe({{".linux", "kernel"}});
    putLe32(file, 0x3c, static_cast<uint32_t>(file.size() - 8));
    EXPECT_EQ(parse(file).error, "PE header ends past the end of the file");
    putLe32(file, 0x3c, 0xffffffff);
    EXPECT_EQ(parse(file).error, "PE header ends past the end of the file");
    putLe32(file, 0x3c, 0xfffffff0);
    EXPECT_EQ(parsePeSections(file, UINT64_MAX).error, "PE header ends past the bytes read");
}

TEST(PeHostile, BadPeSignature) {
    std::string file = buildPe({{".linux", "kernel"}});
    file[test::kPeBuilderPeOffset + 2] = 'X';
    EXPECT_EQ(parse(file).error, "not a PE file (no PE signature)");
}

TEST(PeHostile, SectionTablePastHead) {
    const std::string file = buildPe({{".linux", "kernel"}, {".initrd", "initrd"}});
    // The second entry is cut off by a head too short.
    auto head = std::string_view(file).substr(0, peSectionField(1, 39));
    EXPECT_EQ(parsePeSections(head, file.size()).error,
              "PE section table ends past the bytes read");
    EXPECT_TRUE(
        parsePeSections(std::string_view(file).substr(0, peSectionField(2, 0)), file.size()).ok());

    // An optional header that pushes the table past what kexecd reads.
    std::string big = buildPe({{".linux", std::string(0x20000, 'K')}});
    putLe16(big, test::kPeBuilderCoffHeader + 16, 0xffff);
    EXPECT_EQ(parsePeSections(big, big.size()).error,
              "PE section table ends past the first 64 KiB");
}

TEST(PeHostile, SectionCount) {
    std::string file = buildPe({{".linux", "kernel"}});
    file.resize(peSectionField(1, 0));
    file.resize(0x10000, '\0');
    putLe16(file, test::kPeBuilderCoffHeader + 2, 65535);
    EXPECT_EQ(parse(file).error, "PE file has too many sections (65535, at most 1024)");
    putLe16(file, test::kPeBuilderCoffHeader + 2, 1025);
    EXPECT_EQ(parse(file).error, "PE file has too many sections (1025, at most 1024)");
    // 1024 fit in the head: all but the first are zeros, empty sections at 0.
    putLe16(file, test::kPeBuilderCoffHeader + 2, 1024);
    auto r = parse(file);
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.sections.size(), 1024u);
    EXPECT_EQ(r.sections[0].name, ".linux");
    EXPECT_EQ(r.sections[1023].name, "");
    EXPECT_EQ(r.sections[1023].size, 0u);
}

TEST(PeHostile, SectionPastEndOfFile) {
    const std::string file = buildPe({{".osrel", "ID=x"}, {".linux", std::string(0x200, 'K')}});
    EXPECT_TRUE(parsePeSections(file, file.size()).ok());
    EXPECT_EQ(parsePeSections(file, file.size() - 1).error,
              "PE section .linux ends past the end of the file");

    std::string past = file;
    putLe32(past, peSectionField(0, 20), static_cast<uint32_t>(file.size()));
    EXPECT_EQ(parse(past).error, "PE section .osrel ends past the end of the file");
    // Empty, right at the end: nothing to read past it.
    putLe32(past, peSectionField(0, 8), 0);
    EXPECT_TRUE(parse(past).ok());
}

TEST(PeHostile, OffsetPlusSizeDoesNotWrap) {
    std::string file = buildPe({{".linux", "kernel"}});
    putLe32(file, peSectionField(0, 20), 0xffffff00);
    putLe32(file, peSectionField(0, 8), 0x200);
    EXPECT_EQ(parse(file).error, "PE section .linux ends past the end of the file");
    EXPECT_EQ(parsePeSections(file, 0x100000000).error,
              "PE section .linux ends past the end of the file");
    auto r = parsePeSections(file, 0x100000100);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.sections[0].offset + r.sections[0].size, 0x100000100u);
}

TEST(PeHostile, SectionNamesInErrorsArePrintable) {
    std::string file = buildPe({{"\xff.li\nux\x1b", "kernel"}, {"", "x"}});
    putLe32(file, peSectionField(0, 8), 0x7fffffff);
    auto r = parse(file);
    EXPECT_EQ(r.error, "PE section ?.li?ux? ends past the end of the file");
    EXPECT_TRUE(isValidUtf8(r.error));

    file = buildPe({{".linux", "kernel"}, {"", "x"}});
    putLe32(file, peSectionField(1, 8), 0x7fffffff);
    EXPECT_EQ(parse(file).error, "PE section #1 ends past the end of the file");
}

// Offsets tell apart sections of the same name.
PeSection sec(const char* name, uint64_t offset) {
    return {name, offset, 1};
}

std::vector<uint64_t> offsets(const std::vector<PeSection>& sections) {
    std::vector<uint64_t> out;
    for (const auto& s : sections) out.push_back(s.offset);
    return out;
}

TEST(PeProfiles, NoProfileIsAllWithFirstOfEachName) {
    auto got = defaultProfileSections(
        {sec(".linux", 1), sec(".initrd", 2), sec(".cmdline", 3), sec(".initrd", 4)});
    EXPECT_EQ(offsets(got), (std::vector<uint64_t>{1, 2, 3}));
    EXPECT_TRUE(defaultProfileSections({}).empty());
}

TEST(PeProfiles, FirstProfileOverridesBaseAndLaterOnesAreIgnored) {
    const std::vector<PeSection> all = {
        sec(".osrel", 1),   sec(".linux", 2),    sec(".cmdline", 3), sec(".initrd", 4),
        sec(".profile", 5), sec(".cmdline", 6),  sec(".dtb", 7),     sec(".cmdline", 8),
        sec(".profile", 9), sec(".cmdline", 10), sec(".linux", 11),  sec(".profile", 12),
        sec(".initrd", 13),
    };
    auto got = defaultProfileSections(all);
    EXPECT_EQ(names(got),
              (std::vector<std::string>{".osrel", ".linux", ".initrd", ".cmdline", ".dtb"}));
    EXPECT_EQ(offsets(got), (std::vector<uint64_t>{1, 2, 4, 6, 7}));
    EXPECT_EQ(findSection(got, ".cmdline")->offset, 6u);
    EXPECT_EQ(findSection(got, ".linux")->offset, 2u);
    EXPECT_EQ(findSection(got, ".profile"), nullptr);
}

TEST(PeProfiles, EmptyOrLastFirstProfileIsTheBase) {
    auto got = defaultProfileSections(
        {sec(".linux", 1), sec(".profile", 2), sec(".profile", 3), sec(".linux", 4)});
    EXPECT_EQ(offsets(got), (std::vector<uint64_t>{1}));
    got = defaultProfileSections({sec(".linux", 1), sec(".profile", 2)});
    EXPECT_EQ(offsets(got), (std::vector<uint64_t>{1}));
    got = defaultProfileSections({sec(".profile", 1), sec(".linux", 2), sec(".linux", 3)});
    EXPECT_EQ(offsets(got), (std::vector<uint64_t>{2}));
}

TEST(PeProfiles, FromAParsedUki) {
    const std::string file = buildPe({{".linux", "K"},
                                      {".cmdline", "quiet"},
                                      {".profile", "ID=default"},
                                      {".profile", "ID=debug"},
                                      {".cmdline", "debug"}});
    auto r = parse(file);
    ASSERT_TRUE(r.ok()) << r.error;
    auto got = defaultProfileSections(r.sections);
    const PeSection* cmdline = findSection(got, ".cmdline");
    ASSERT_NE(cmdline, nullptr);
    EXPECT_EQ(file.substr(cmdline->offset, cmdline->size), "quiet");
    EXPECT_EQ(names(got), (std::vector<std::string>{".linux", ".cmdline"}));
}

TEST(PeProfiles, FindSection) {
    const std::vector<PeSection> all = {sec(".linux", 1), sec(".initrd", 2), sec(".initrd", 3)};
    EXPECT_EQ(findSection(all, ".initrd"), &all[1]);
    EXPECT_EQ(findSection(all, ".linux"), &all[0]);
    EXPECT_EQ(findSection(all, ".linu"), nullptr);
    EXPECT_EQ(findSection(all, ""), nullptr);
    EXPECT_EQ(findSection({}, ".linux"), nullptr);
}

}  // namespace
}  // namespace kexecd
