#include "boot_record.hpp"

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "fsutil.hpp"
#include "log.hpp"

namespace kexecd {

using json = nlohmann::json;

namespace {
constexpr int kFormat = 1;
constexpr size_t kMaxRecord = 64 * 1024;
}  // namespace

std::string bootRecordToJson(const BootRecord& r) {
    json j = {{"format", kFormat},
              {"boot_id", r.bootId},
              {"kexec_from", r.kexecFrom},
              {"kexec_boot", r.kexecBoot},
              {"firmware_usec", r.firmwareUsec},
              {"loader_usec", r.loaderUsec}};
    return j.dump(2) + "\n";
}

BootRecord bootRecordFromJson(const std::string& text) {
    try {
        json j = json::parse(text);
        auto u64 = [](const json& v) {
            if (!v.is_number_unsigned())
                throw Error(ErrorCode::Failed, "malformed boot record: not an unsigned integer");
            return v.get<uint64_t>();
        };
        if (u64(j.at("format")) != kFormat)
            throw Error(ErrorCode::Failed, "unknown boot record format");
        BootRecord r;
        r.bootId = j.at("boot_id").get<std::string>();
        r.kexecFrom = j.at("kexec_from").get<std::string>();
        r.kexecBoot = j.at("kexec_boot").get<bool>();
        r.firmwareUsec = u64(j.at("firmware_usec"));
        r.loaderUsec = u64(j.at("loader_usec"));
        return r;
    } catch (const json::exception& e) {
        throw Error(ErrorCode::Failed, std::string("malformed boot record: ") + e.what());
    }
}

BootRecord advanceBootRecord(const std::optional<BootRecord>& saved, const std::string& bootId,
                             uint64_t firmwareTimestampUsec, uint64_t loaderTimestampUsec) {
    if (saved && saved->bootId == bootId) return *saved;
    BootRecord r;
    r.bootId = bootId;
    r.kexecBoot = saved && !saved->bootId.empty() && saved->kexecFrom == saved->bootId;
    if (r.kexecBoot) {
        r.firmwareUsec = saved->firmwareUsec;
        r.loaderUsec = saved->loaderUsec;
    } else if (firmwareTimestampUsec >= loaderTimestampUsec) {
        // systemd counts both back from the kernel's start: the firmware ran
        // before the loader.
        r.firmwareUsec = firmwareTimestampUsec - loaderTimestampUsec;
        r.loaderUsec = loaderTimestampUsec;
    }
    return r;
}

BootRecord markKexecShutdown(std::optional<BootRecord> saved, const std::string& bootId,
                             bool kexec) {
    BootRecord r = saved.value_or(BootRecord{});
    if (r.bootId.empty()) r.bootId = bootId;
    r.kexecFrom = kexec ? bootId : "";
    return r;
}

std::optional<BootRecord> loadBootRecord(const std::filesystem::path& file) {
    auto text = readSmallFile(file, kMaxRecord);
    if (!text) return std::nullopt;
    return bootRecordFromJson(*text);
}

void saveBootRecord(const std::filesystem::path& file, const BootRecord& r) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec)
        throw Error(ErrorCode::Failed,
                    "cannot create " + file.parent_path().string() + ": " + ec.message());
    writeFileAtomic(file, bootRecordToJson(r), 0644);
}

}  // namespace kexecd

namespace kexecd {

namespace {

std::string readBootId(const Root& root) {
    auto text = readSmallFile(root.path("/proc/sys/kernel/random/boot_id"), 4096);
    if (!text) return "";
    auto end = text->find_first_of(" \n");
    return text->substr(0, end);
}

std::optional<BootRecord> loadOrForget(const std::filesystem::path& file) {
    try {
        return loadBootRecord(file);
    } catch (const Error& e) {
        log::warn("forgetting the boot record: {}", e.what());
        return std::nullopt;
    }
}

}  // namespace

BootRecord startBootRecord(const Root& root, uint64_t firmwareTimestampUsec,
                           uint64_t loaderTimestampUsec) {
    try {
        std::string bootId = readBootId(root);
        if (bootId.empty()) {
            log::warn(
                "no boot id in /proc/sys/kernel/random/boot_id: kexec boots are not told "
                "apart");
            return {};
        }
        auto file = root.path(kBootRecordFile);
        BootRecord r = advanceBootRecord(loadOrForget(file), bootId, firmwareTimestampUsec,
                                         loaderTimestampUsec);
        saveBootRecord(file, r);
        return r;
    } catch (const Error& e) {
        log::warn("cannot keep the boot record: {}", e.what());
        return {};
    }
}

void recordShutdown(const Root& root, bool kexec) {
    try {
        std::string bootId = readBootId(root);
        if (bootId.empty()) return;
        auto file = root.path(kBootRecordFile);
        saveBootRecord(file, markKexecShutdown(loadOrForget(file), bootId, kexec));
    } catch (const Error& e) {
        log::warn("cannot record how this boot ends: {}", e.what());
    }
}

}  // namespace kexecd
