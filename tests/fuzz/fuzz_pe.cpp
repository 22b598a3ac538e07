// PE section tables of unified kernel images and add-ons in /boot and the
// ESP. The input is the file's head; it is parsed as the whole file and as
// the head of files of other sizes, since a file's size and its head come
// from different reads.
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "pe.hpp"

namespace {

void check(std::string_view head, uint64_t fileSize) {
    kexecd::PeSections r = kexecd::parsePeSections(head, fileSize);
    if (!r.ok()) {
        FUZZ_CHECK(r.sections.empty());
        for (char c : r.error) FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
        return;
    }
    FUZZ_CHECK(r.sections.size() <= 1024);
    for (const auto& s : r.sections) {
        FUZZ_CHECK(s.name.size() <= 8);
        FUZZ_CHECK(s.name.empty() || s.name.back() != '\0');
        FUZZ_CHECK(s.offset <= fileSize && s.size <= fileSize - s.offset);
    }

    // The default profile is a subsequence of the table, one section per
    // name and no ".profile", and findSection finds exactly those.
    auto picked = kexecd::defaultProfileSections(r.sections);
    size_t next = 0;
    for (const auto& p : picked) {
        FUZZ_CHECK(p.name != ".profile");
        while (next < r.sections.size() &&
               (r.sections[next].name != p.name || r.sections[next].offset != p.offset ||
                r.sections[next].size != p.size))
            ++next;
        FUZZ_CHECK(next < r.sections.size());
        ++next;
        FUZZ_CHECK(kexecd::findSection(picked, p.name) == &p);
        FUZZ_CHECK(kexecd::findSection(r.sections, p.name) != nullptr);
    }
    // Only ".profile" and the profiles after the first leave names out.
    const bool profiles = kexecd::findSection(r.sections, ".profile") != nullptr;
    for (const auto& s : r.sections) {
        const kexecd::PeSection* found = kexecd::findSection(r.sections, s.name);
        FUZZ_CHECK(found != nullptr && found->name == s.name && found <= &s);
        if (!profiles) FUZZ_CHECK(kexecd::findSection(picked, s.name) != nullptr);
    }
    FUZZ_CHECK(kexecd::findSection(picked, ".profile") == nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view head = in.substr(0, kexecd::kPeHeadBytes);
    check(head, size);
    // Smaller than the head (a file truncated after its head was read),
    // bigger, up to sizes no 32-bit offset plus size reaches.
    for (uint64_t fileSize : {uint64_t{0}, uint64_t{size / 2}, uint64_t{size} + 0x200,
                              uint64_t{0xffffffff}, uint64_t{0x1ffffffff}, UINT64_MAX})
        check(head, fileSize);
    return 0;
}
