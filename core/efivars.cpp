#include "efivars.hpp"

namespace kexecd {

std::optional<std::string_view> efiVarData(std::string_view file) {
    if (file.size() < 4) return std::nullopt;
    return file.substr(4);
}

std::optional<uint64_t> efiVarUint(std::string_view file, size_t size) {
    auto data = efiVarData(file);
    if (!data || data->size() != size || size > 8) return std::nullopt;
    uint64_t v = 0;
    for (size_t i = 0; i < size; ++i)
        v |= uint64_t(static_cast<unsigned char>((*data)[i])) << (8 * i);
    return v;
}

std::optional<std::string> efiVarString(std::string_view file) {
    auto data = efiVarData(file);
    if (!data) return std::nullopt;
    std::string out;
    for (size_t i = 0; i + 1 < data->size(); i += 2) {
        unsigned c = static_cast<unsigned char>((*data)[i]) |
                     (static_cast<unsigned>(static_cast<unsigned char>((*data)[i + 1])) << 8);
        if (c == 0) break;
        if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else {
            out += static_cast<char>(0xE0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

}  // namespace kexecd
