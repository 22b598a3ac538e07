#include "config.hpp"

#include <ini.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

#include "cmdline.hpp"
#include "error.hpp"

namespace kexecd {

std::optional<bool> parseBool(std::string_view s) {
    // Case does not matter, as in systemd's unit files ("Yes", "off").
    std::string v(s);
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto t : {"yes", "true", "on", "1", "y"})
        if (v == t) return true;
    for (auto f : {"no", "false", "off", "0", "n"})
        if (v == f) return false;
    return std::nullopt;
}

namespace {

struct ParseState {
    Config* config;
    std::string file;
    std::string error;  // first bad value; ini_parse reports its line
    std::vector<std::string>* warnings;
};

bool setBool(bool* out, std::string_view key, std::string_view value, ParseState* st) {
    auto b = parseBool(value);
    if (!b) {
        st->error = std::string(key) + "=" + std::string(value) + " is not yes or no";
        return false;
    }
    *out = *b;
    return true;
}

int onEntry(void* user, const char* section, const char* name, const char* value) {
    auto* st = static_cast<ParseState*>(user);
    std::string_view sec(section), key(name), val(value);
    if (!st->error.empty()) return 1;  // ini_parse keeps going; keep the first error only
    if (sec == "Reboot" && key == "UseKexec")
        return setBool(&st->config->rebootUsesKexec, key, val, st);
    if (sec != "Stage") {
        st->warnings->push_back(st->file + ": unknown key " + std::string(key) + " in [" +
                                std::string(sec) + "], ignoring");
        return 1;
    }
    Config& c = *st->config;
    if (key == "AutoStage") return setBool(&c.autoStage, key, val, st);
    if (key == "RequireInitrd") return setBool(&c.requireInitrd, key, val, st);
    if (key == "RequireModules") return setBool(&c.requireModules, key, val, st);
    if (key == "CmdlineAppend") {
        // Like systemd's list settings: each line adds, an empty value resets.
        if (val.empty())
            c.cmdlineAppend.clear();
        else
            c.cmdlineAppend += (c.cmdlineAppend.empty() ? "" : " ") + std::string(val);
        return 1;
    }
    if (key == "CmdlineRemove") {
        if (val.empty()) c.cmdlineRemove.clear();
        for (auto& word : splitCmdline(val)) c.cmdlineRemove.push_back(word);
        return 1;
    }
    if (key == "SettleDelaySec") {
        double sec = -1;
        auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), sec);
        if (ec != std::errc() || p != val.data() + val.size() || !(sec >= 0) || sec > 3600) {
            st->error = "SettleDelaySec=" + std::string(val) +
                        " is not a number of seconds between 0 and 3600";
            return 0;
        }
        c.settleMs = static_cast<unsigned>(std::lround(sec * 1000));
        return 1;
    }
    st->warnings->push_back(st->file + ": unknown key " + std::string(key) +
                            " in [Stage], ignoring");
    return 1;
}

void parseOne(const std::filesystem::path& file, Config* config,
              std::vector<std::string>* warnings) {
    ParseState st{config, file.string(), "", warnings};
    int rc = ini_parse(file.c_str(), onEntry, &st);
    if (rc == -1) throw Error(ErrorCode::InvalidArgument, "cannot open " + file.string());
    if (rc == -2) throw Error(ErrorCode::Failed, "out of memory reading " + file.string());
    if (rc > 0) {
        std::string what = st.error.empty() ? "syntax error" : st.error;
        throw Error(ErrorCode::InvalidArgument,
                    file.string() + ":" + std::to_string(rc) + ": " + what);
    }
}

}  // namespace

Config loadConfig(const std::filesystem::path& mainFile, std::vector<std::string>* warnings) {
    Config config;
    std::error_code ec;
    if (std::filesystem::exists(mainFile, ec)) parseOne(mainFile, &config, warnings);

    std::filesystem::path dropins = mainFile.string() + ".d";
    std::vector<std::filesystem::path> files;
    for (auto it = std::filesystem::directory_iterator(dropins, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (it->path().extension() == ".conf" && it->is_regular_file(ec))
            files.push_back(it->path());
    }
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
    for (auto& f : files) parseOne(f, &config, warnings);
    return config;
}

}  // namespace kexecd
