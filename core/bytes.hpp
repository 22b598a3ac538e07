#pragma once
// Little-endian fields of on-disk formats (PE, the x86 boot header, arm64
// Image, EFI zboot), read from any alignment. Callers check bounds first.
#include <cstdint>
#include <cstring>

namespace kexecd {

inline uint16_t le16(const void* p) {
    unsigned char b[2];
    std::memcpy(b, p, sizeof b);
    return static_cast<uint16_t>(b[0] | (b[1] << 8));
}

inline uint32_t le32(const void* p) {
    unsigned char b[4];
    std::memcpy(b, p, sizeof b);
    return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
           static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
}

}  // namespace kexecd
