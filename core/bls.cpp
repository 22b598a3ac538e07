#include "bls.hpp"

#include <cctype>

namespace kexecd {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

template <typename F>
void forEachLine(std::string_view text, F f) {
    while (!text.empty()) {
        size_t nl = text.find('\n');
        f(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

}  // namespace

BlsEntry parseBlsEntry(std::string_view text) {
    BlsEntry e;
    forEachLine(text, [&](std::string_view line) {
        line = trim(line);
        if (line.empty() || line[0] == '#') return;
        size_t sp = line.find_first_of(" \t");
        std::string_view key = line.substr(0, sp);
        std::string value(sp == std::string_view::npos ? "" : trim(line.substr(sp)));
        if (key == "title")
            e.title = value;
        else if (key == "version")
            e.version = value;
        else if (key == "machine-id")
            e.machineId = value;
        else if (key == "sort-key")
            e.sortKey = value;
        else if (key == "linux")
            e.linux = value;
        else if (key == "initrd")
            e.initrds.push_back(value);
        else if (key == "architecture")
            e.architecture = value;
        else if (key == "options" && !value.empty())
            e.options += (e.options.empty() ? "" : " ") + value;
    });
    return e;
}

std::map<std::string, std::string> parseGrubEnv(std::string_view text) {
    std::map<std::string, std::string> env;
    forEachLine(text, [&](std::string_view line) {
        if (line.empty() || line[0] == '#') return;
        size_t eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) return;
        std::string value;
        std::string_view raw = line.substr(eq + 1);
        for (size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '\\' && i + 1 < raw.size()) {
                ++i;
                value += raw[i] == 'n' ? '\n' : raw[i];
            } else {
                value += raw[i];
            }
        }
        env[std::string(line.substr(0, eq))] = value;
    });
    return env;
}

std::string expandGrubVariables(std::string_view s, const std::map<std::string, std::string>& vars,
                                std::vector<std::string>* unknown) {
    auto isName = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    std::string out;
    for (size_t i = 0; i < s.size();) {
        if (s[i] != '$') {
            out += s[i++];
            continue;
        }
        std::string name;
        size_t j = i + 1;
        if (j < s.size() && s[j] == '{') {
            size_t close = s.find('}', j);
            if (close == std::string_view::npos) {
                out += s.substr(i);
                break;
            }
            name = s.substr(j + 1, close - j - 1);
            j = close + 1;
        } else {
            while (j < s.size() && isName(s[j])) name += s[j++];
        }
        if (name.empty()) {
            out += s[i++];
            continue;
        }
        auto it = vars.find(name);
        if (it != vars.end())
            out += it->second;
        else if (unknown)
            unknown->push_back(name);
        i = j;
    }
    return out;
}

}  // namespace kexecd
