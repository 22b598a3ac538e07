#include "pe.hpp"

#include <algorithm>
#include <cstring>

#include "bytes.hpp"

namespace kexecd {

namespace {

constexpr size_t kDosHeaderBytes = 0x40;
constexpr size_t kCoffHeaderBytes = 20;
constexpr size_t kSectionBytes = 40;
// PE allows 96 (Windows loaders refuse more); the bound keeps a hostile
// NumberOfSections from costing more than a table that fits in the head.
constexpr uint32_t kMaxSections = 1024;

// Names come from the file and errors end up on D-Bus (UTF-8 only) and in
// terminals: printable ASCII or '?'.
std::string printableName(const std::string& name, size_t index) {
    if (name.empty()) return "#" + std::to_string(index);
    std::string out = name;
    for (char& c : out)
        if (c < 0x20 || c > 0x7e) c = '?';
    return out;
}

PeSections fail(std::string error) {
    PeSections r;
    r.error = std::move(error);
    return r;
}

}  // namespace

PeSections parsePeSections(std::string_view head, uint64_t fileSize) {
    // Nothing is read past the end of the file, even if the caller's head
    // says otherwise.
    head = head.substr(0, static_cast<size_t>(std::min<uint64_t>(
                              std::min<uint64_t>(head.size(), kPeHeadBytes), fileSize)));
    // What a header ending past `head` ends past, for the error message.
    const std::string limit = head.size() == fileSize       ? "the end of the file"
                              : head.size() == kPeHeadBytes ? "the first 64 KiB"
                                                            : "the bytes read";

    if (head.size() < 2 || head[0] != 'M' || head[1] != 'Z')
        return fail("not a PE file (no MZ header)");
    if (head.size() < kDosHeaderBytes) return fail("PE DOS header ends past " + limit);
    const uint64_t peOff = le32(head.data() + 0x3c);
    if (peOff + 4 + kCoffHeaderBytes > head.size()) return fail("PE header ends past " + limit);
    if (head.substr(peOff, 4) != std::string_view("PE\0\0", 4))
        return fail("not a PE file (no PE signature)");
    const uint64_t coff = peOff + 4;
    const uint32_t count = le16(head.data() + coff + 2);
    const uint64_t table = coff + kCoffHeaderBytes + le16(head.data() + coff + 16);
    if (count > kMaxSections)
        return fail("PE file has too many sections (" + std::to_string(count) + ", at most " +
                    std::to_string(kMaxSections) + ")");
    if (table + uint64_t{count} * kSectionBytes > head.size())
        return fail("PE section table ends past " + limit);

    PeSections r;
    r.sections.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        const size_t at = static_cast<size_t>(table + uint64_t{i} * kSectionBytes);
        std::string_view field = head.substr(at, 8);
        while (!field.empty() && field.back() == '\0') field.remove_suffix(1);
        PeSection s;
        s.name = std::string(field);
        s.size = le32(head.data() + at + 8);
        s.offset = le32(head.data() + at + 20);
        // Both are 32-bit, so the sum cannot overflow 64 bits.
        if (s.offset + s.size > fileSize)
            return fail("PE section " + printableName(s.name, i) +
                        " ends past the end of the file");
        r.sections.push_back(std::move(s));
    }
    return r;
}

std::vector<PeSection> defaultProfileSections(const std::vector<PeSection>& all) {
    auto isProfile = [](const PeSection& s) { return s.name == ".profile"; };
    auto first = std::find_if(all.begin(), all.end(), isProfile);
    auto profileEnd =
        first == all.end() ? all.end() : std::find_if(first + 1, all.end(), isProfile);

    // Appends the sections of [from, to) whose name neither an earlier one of
    // the part nor `shadow` (the part that overrides it) has.
    std::vector<PeSection> out;
    auto take = [&](auto from, auto to, auto shadowFrom, auto shadowTo) {
        const size_t partStart = out.size();
        for (auto it = from; it != to; ++it) {
            auto same = [&](const PeSection& o) { return o.name == it->name; };
            if (std::any_of(out.begin() + partStart, out.end(), same)) continue;
            if (std::any_of(shadowFrom, shadowTo, same)) continue;
            out.push_back(*it);
        }
    };
    take(all.begin(), first, first == all.end() ? first : first + 1, profileEnd);
    if (first != all.end()) take(first + 1, profileEnd, profileEnd, profileEnd);
    return out;
}

const PeSection* findSection(const std::vector<PeSection>& sections, std::string_view name) {
    for (const auto& s : sections)
        if (s.name == name) return &s;
    return nullptr;
}

}  // namespace kexecd
