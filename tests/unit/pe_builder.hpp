#pragma once
// PE32+ files as the tests need them: unified kernel images and add-ons with
// the sections given, laid out as a linker and ukify would (x86-64, EFI
// application, raw data aligned to FileAlignment), for parsePeSections and
// for fake UKIs in fake roots.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kexecd::test {

// Where buildPe puts things, for tests that break them on purpose.
constexpr size_t kPeBuilderPeOffset = 0x80;  // e_lfanew: "PE\0\0"
constexpr size_t kPeBuilderCoffHeader = kPeBuilderPeOffset + 4;
constexpr size_t kPeBuilderOptionalHeaderBytes = 240;  // PE32+ with 16 data directories
constexpr size_t kPeBuilderSectionTable = kPeBuilderCoffHeader + 20 + kPeBuilderOptionalHeaderBytes;
constexpr size_t kPeBuilderSectionBytes = 40;
constexpr uint32_t kPeBuilderFileAlignment = 0x200;
constexpr uint32_t kPeBuilderSectionAlignment = 0x1000;

inline void putLe16(std::string& s, size_t off, uint16_t v) {
    for (size_t i = 0; i < 2; ++i) s.at(off + i) = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void putLe32(std::string& s, size_t off, uint32_t v) {
    for (size_t i = 0; i < 4; ++i) s.at(off + i) = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void putLe64(std::string& s, size_t off, uint64_t v) {
    for (size_t i = 0; i < 8; ++i) s.at(off + i) = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Offset of field `field` (8: VirtualSize, 16: SizeOfRawData, 20:
// PointerToRawData, ...) of section `index` in a file from buildPe.
constexpr size_t peSectionField(size_t index, size_t field) {
    return kPeBuilderSectionTable + index * kPeBuilderSectionBytes + field;
}

// Sections {name (up to 8 bytes, no NUL when 8), data} in table and file
// order, each holding exactly its data: VirtualSize is its size, the raw
// data is padded with zeros to FileAlignment.
inline std::string buildPe(const std::vector<std::pair<std::string, std::string>>& sections) {
    auto align = [](uint64_t v, uint64_t a) { return (v + a - 1) / a * a; };
    const size_t headers = align(kPeBuilderSectionTable + sections.size() * kPeBuilderSectionBytes,
                                 kPeBuilderFileAlignment);
    std::string pe(headers, '\0');

    pe[0] = 'M';
    pe[1] = 'Z';
    putLe32(pe, 0x3c, kPeBuilderPeOffset);
    const std::string stub = "This program cannot be run in DOS mode.\r\r\n$";
    pe.replace(0x4e, stub.size(), stub);
    pe.replace(kPeBuilderPeOffset, 4, std::string("PE\0\0", 4));

    const size_t coff = kPeBuilderCoffHeader;
    putLe16(pe, coff, 0x8664);
    putLe16(pe, coff + 2, static_cast<uint16_t>(sections.size()));
    putLe16(pe, coff + 16, kPeBuilderOptionalHeaderBytes);
    putLe16(pe, coff + 18, 0x0206);  // executable, line numbers and debug info stripped

    uint32_t rva = kPeBuilderSectionAlignment;
    for (size_t i = 0; i < sections.size(); ++i) {
        const auto& [name, data] = sections[i];
        const size_t at = peSectionField(i, 0);
        pe.replace(at, name.size() < 8 ? name.size() : 8, name.substr(0, 8));
        putLe32(pe, at + 8, static_cast<uint32_t>(data.size()));
        putLe32(pe, at + 12, rva);
        putLe32(pe, at + 16, static_cast<uint32_t>(align(data.size(), kPeBuilderFileAlignment)));
        putLe32(pe, at + 20, static_cast<uint32_t>(pe.size()));
        putLe32(pe, at + 36, 0x40000040);  // initialized data, readable
        pe += data;
        pe.resize(align(pe.size(), kPeBuilderFileAlignment), '\0');
        rva += static_cast<uint32_t>(
            align(data.empty() ? 1 : data.size(), kPeBuilderSectionAlignment));
    }

    const size_t opt = coff + 20;
    putLe16(pe, opt, 0x20b);             // PE32+
    putLe64(pe, opt + 24, 0x140000000);  // ImageBase
    putLe32(pe, opt + 32, kPeBuilderSectionAlignment);
    putLe32(pe, opt + 36, kPeBuilderFileAlignment);
    putLe32(pe, opt + 56, rva);  // SizeOfImage
    putLe32(pe, opt + 60, static_cast<uint32_t>(headers));
    putLe16(pe, opt + 68, 10);   // EFI application
    putLe32(pe, opt + 108, 16);  // NumberOfRvaAndSizes
    return pe;
}

}  // namespace kexecd::test
