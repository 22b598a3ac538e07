#pragma once
// Was this boot a kexec, and what does a cold boot cost here? Kept in
// <root>/var/lib/kexecd/boot.json, which outlives kexecs and reboots (unlike
// /run): the daemon advances it at start, and kexecd-verify.service, the
// last step before a kexec, marks the boot it runs in as ending in one.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace kexecd {

struct BootRecord {
    std::string bootId;      // the boot the daemon last started in
    std::string kexecFrom;   // a boot whose shutdown went into a kexec
    bool kexecBoot = false;  // bootId was entered through a kexec
    // The firmware's and the boot loader's time in the last cold boot that
    // reported them (systemd's FirmwareTimestampMonotonic minus
    // LoaderTimestampMonotonic, and LoaderTimestampMonotonic; UEFI only):
    // what a fast reboot skips. 0 when unknown.
    uint64_t firmwareUsec = 0;
    uint64_t loaderUsec = 0;
    bool operator==(const BootRecord&) const = default;
};

constexpr const char* kBootRecordFile = "/var/lib/kexecd/boot.json";

std::string bootRecordToJson(const BootRecord& r);
// Throws Error(Failed) on malformed JSON, missing fields, or numbers that are
// not unsigned integers.
BootRecord bootRecordFromJson(const std::string& text);

// The record for the boot `bootId`, from the one saved by an earlier start
// (nullopt: none). A restart within the same boot changes nothing. A new
// boot is a kexec boot when the previous one was marked (markKexecShutdown)
// as ending in a kexec; a cold boot replaces the remembered firmware and
// loader times with its own (systemd's timestamps of this boot, in µs), a
// kexec boot keeps those of the last cold boot: its own are stale copies.
BootRecord advanceBootRecord(const std::optional<BootRecord>& saved, const std::string& bootId,
                             uint64_t firmwareTimestampUsec, uint64_t loaderTimestampUsec);

// Marks `bootId` as ending in a kexec (kexec = true) or not.
BootRecord markKexecShutdown(std::optional<BootRecord> saved, const std::string& bootId,
                             bool kexec);

// nullopt when there is none; a corrupt one throws Error(Failed).
std::optional<BootRecord> loadBootRecord(const std::filesystem::path& file);
void saveBootRecord(const std::filesystem::path& file, const BootRecord& r);

}  // namespace kexecd

namespace kexecd {

class Root;

// The daemon's start: reads this boot's id under `root`, advances the saved
// record and saves it. Never throws: a record that cannot be read or written
// is logged, and the boot is then of unknown kind (bootId "").
BootRecord startBootRecord(const Root& root, uint64_t firmwareTimestampUsec,
                           uint64_t loaderTimestampUsec);

// kexecd-verify.service, just before the reboot: `kexec` says whether a
// kernel is still loaded, i.e. whether this shutdown goes into a kexec.
// Never throws.
void recordShutdown(const Root& root, bool kexec);

}  // namespace kexecd
