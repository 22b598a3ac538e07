#include "state.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "error.hpp"

namespace kexecd {

using nlohmann::json;

namespace {
constexpr int kStateFormat = 1;
}

std::string stateToJson(const Staged& s) {
    json files = json::array();
    for (auto& f : s.files)
        files.push_back({{"path", f.path},
                         {"dev", f.id.dev},
                         {"ino", f.id.ino},
                         {"size", f.id.size},
                         {"mtime_ns", f.id.mtimeNs}});
    json j = {{"format", kStateFormat},   {"version", s.version},
              {"kernel", s.kernel},       {"initrds", s.initrds},
              {"cmdline", s.cmdline},     {"custom", s.custom},
              {"simulated", s.simulated}, {"files", files},
              {"staged_by", s.stagedBy},  {"staged_at_usec", s.stagedAtUsec},
              {"bytes", s.bytes}};
    return j.dump(2) + "\n";
}

Staged stateFromJson(const std::string& text) {
    try {
        json j = json::parse(text);
        if (!j.at("format").is_number_integer() || j.at("format").get<int64_t>() != kStateFormat)
            throw Error(ErrorCode::Failed, "unknown state format");
        Staged s;
        s.version = j.at("version").get<std::string>();
        s.kernel = j.at("kernel").get<std::string>();
        s.initrds = j.at("initrds").get<std::vector<std::string>>();
        s.cmdline = j.at("cmdline").get<std::string>();
        s.custom = j.at("custom").get<bool>();
        s.simulated = j.at("simulated").get<bool>();
        // nlohmann converts a float such as 1.5e300 to an integer type
        // with undefined behaviour: only integers of the right sign pass.
        auto u64 = [](const json& v) {
            if (!v.is_number_unsigned()) throw Error(ErrorCode::Failed, "not an unsigned integer");
            return v.get<uint64_t>();
        };
        auto i64 = [](const json& v) {
            if (!v.is_number_integer()) throw Error(ErrorCode::Failed, "not an integer");
            if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
                throw Error(ErrorCode::Failed, "integer out of range");
            return v.get<int64_t>();
        };
        for (auto& f : j.at("files"))
            s.files.push_back({f.at("path").get<std::string>(),
                               FileId{u64(f.at("dev")), u64(f.at("ino")), i64(f.at("size")),
                                      i64(f.at("mtime_ns"))}});
        if (j.contains("staged_by")) s.stagedBy = j.at("staged_by").get<std::string>();
        if (j.contains("staged_at_usec")) s.stagedAtUsec = i64(j.at("staged_at_usec"));
        if (j.contains("bytes")) s.bytes = u64(j.at("bytes"));
        return s;
    } catch (const json::exception& e) {
        throw Error(ErrorCode::Failed, std::string("malformed state: ") + e.what());
    } catch (const Error& e) {
        throw Error(ErrorCode::Failed, std::string("malformed state: ") + e.what());
    }
}

std::optional<Staged> loadState(const std::filesystem::path& file) {
    // The record is kexecd's own: a symlink or FIFO in its place is not.
    auto text = readSmallFile(file, 1 << 20, true);
    if (!text) return std::nullopt;
    try {
        return stateFromJson(*text);
    } catch (const Error& e) {
        throw Error(ErrorCode::Failed, file.string() + ": " + e.what());
    }
}

void saveState(const std::filesystem::path& file, const Staged& s) {
    std::string text;
    try {
        text = stateToJson(s);
    } catch (const json::exception& e) {
        // Discovery and validateCmdline() keep non-UTF-8 text out; should
        // some get here, it is an error to report, not a crash.
        throw Error(ErrorCode::Failed, std::string("cannot encode the state: ") + e.what());
    }
    writeFileAtomic(file, text, 0644);
}

void removeState(const std::filesystem::path& file) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    // ENOTDIR: a parent is not a directory, so there is no record either.
    if (ec && ec != std::errc::not_a_directory)
        throw Error(ErrorCode::Failed, "cannot remove " + file.string() + ": " + ec.message());
}

}  // namespace kexecd
