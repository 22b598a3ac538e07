#pragma once
// EFI variables as efivarfs shows them (/sys/firmware/efi/efivars/NAME-GUID):
// 4 attribute bytes, then the data.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kexecd {

constexpr std::string_view kEfiGlobalGuid = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
constexpr std::string_view kLoaderGuid = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

// OsIndications bits that need the firmware on the next boot.
constexpr uint64_t kOsIndicationBootToFwUi = 0x1;
constexpr uint64_t kOsIndicationCapsuleOnDisk = 0x4;

// The data after the attributes; nullopt when the file is too short.
std::optional<std::string_view> efiVarData(std::string_view file);

// Little-endian integer of exactly `size` bytes (2 for BootNext, 8 for
// OsIndications); nullopt when the data has another size.
std::optional<uint64_t> efiVarUint(std::string_view file, size_t size);

// A UTF-16LE string (systemd-boot's LoaderEntryOneShot), NUL-terminated or
// not, as UTF-8; characters outside the BMP or unpaired surrogates become
// U+FFFD.
std::optional<std::string> efiVarString(std::string_view file);

}  // namespace kexecd
