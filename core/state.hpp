#pragma once
// What kexecd staged, kept in <root>/run/kexecd/ so that a restarted daemon
// knows the loaded kernel is its own (and which one it is).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fsutil.hpp"

namespace kexecd {

struct StagedFile {
    std::string path;  // as the system sees it
    FileId id;
    bool operator==(const StagedFile&) const = default;
};

struct Staged {
    std::string version;
    std::string kernel;
    std::vector<std::string> initrds;
    std::string cmdline;
    // Chosen by hand (a version or command line given): AutoStage leaves it
    // alone until its files go away.
    bool custom = false;
    bool simulated = false;
    std::vector<StagedFile> files;  // kernel, then initrds, as they were when staged
    // Who staged it (Actor::who) and when (µs since the epoch, as systemd's
    // *Timestamp properties): "" and 0 in records of older versions.
    std::string stagedBy;
    int64_t stagedAtUsec = 0;
    // What the kernel holds for the next boot: the kernel and initrds as
    // loaded (of a UKI its sections, not the whole file). 0 in records of
    // older versions: then the files' sizes.
    uint64_t bytes = 0;
    bool operator==(const Staged&) const = default;
};

std::string stateToJson(const Staged& s);
// Throws Error(Failed) on malformed JSON or missing fields.
Staged stateFromJson(const std::string& json);

// nullopt when there is no state file. A corrupt one throws.
std::optional<Staged> loadState(const std::filesystem::path& file);
void saveState(const std::filesystem::path& file, const Staged& s);
void removeState(const std::filesystem::path& file);

}  // namespace kexecd
