#pragma once
// PE/COFF section tables, as far as unified kernel images (UKIs) and their
// add-ons need them: which section is where in the file. Parsed from the
// file's first bytes without touching the file system; the caller reads the
// sections it wants with pread.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kexecd {

// Enough of a file's head for any PE header kexecd accepts: the section
// table must end within it.
constexpr size_t kPeHeadBytes = 64 * 1024;

// `name` is the 8-byte Name field with its trailing NULs stripped
// (".cmdline" and ".pcrpkey" fill all 8) and is otherwise the file's raw
// bytes, so that it compares equal to ".linux" and friends: it may hold any
// byte, NUL and non-UTF-8 included, and must be escaped before it is shown
// or logged. "/123" long names (a COFF string table offset) are not resolved:
// UKIs do not use them.
struct PeSection {
    std::string name;
    uint64_t offset = 0;  // PointerToRawData
    // VirtualSize: the data itself, where SizeOfRawData is padded to the
    // FileAlignment. A VirtualSize of 0 is an empty section, not one as big
    // as its raw data.
    uint64_t size = 0;
};

struct PeSections {
    std::vector<PeSection> sections;  // in table order
    std::string error;                // "" when the table was read
    bool ok() const { return error.empty(); }
};

// `head`: the first bytes of the file (up to kPeHeadBytes; more are
// ignored, as are any past `fileSize`), `fileSize`: its size. Fails on a
// missing "MZ"/"PE\0\0" signature, a header or section table outside `head`,
// more than 1024 sections, and any section whose data would end past
// `fileSize`. Sections are not checked against each other: overlapping ones
// (a VirtualSize larger than SizeOfRawData runs into whatever follows) are
// returned as the table has them. Errors are one line of
// printable ASCII, section names included, for users and D-Bus.
PeSections parsePeSections(std::string_view head, uint64_t fileSize);

// The sections systemd-stub uses when booting a UKI's default profile: with
// no ".profile" section, all of them; otherwise the ones before the first
// ".profile" (shared by every profile) overridden by those of the first
// profile (between the first and second ".profile"). Later profiles are
// left out, and so are the ".profile" sections themselves. The first section
// of a name wins where a name repeats within the same part (the whole table
// being one part without ".profile"), so that names are unique in the
// result, which keeps the table's order.
std::vector<PeSection> defaultProfileSections(const std::vector<PeSection>& all);

// The section of that name in `sections`, or nullptr.
const PeSection* findSection(const std::vector<PeSection>& sections, std::string_view name);

}  // namespace kexecd
