#include "cmdline.hpp"

#include <algorithm>

#include "error.hpp"
#include "text.hpp"

namespace kexecd {

namespace {
bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
}  // namespace

std::vector<std::string> splitCmdline(std::string_view s) {
    std::vector<std::string> words;
    std::string cur;
    bool quoted = false, have = false;
    for (char c : s) {
        if (c == '"') quoted = !quoted;
        if (!quoted && isSpace(c)) {
            if (have) words.push_back(std::move(cur));
            cur.clear();
            have = false;
            continue;
        }
        cur.push_back(c);
        have = true;
    }
    if (have) words.push_back(std::move(cur));
    return words;
}

std::string paramName(std::string_view word) {
    std::string name(word.substr(0, word.find('=')));
    name.erase(std::remove(name.begin(), name.end(), '"'), name.end());
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

std::string deriveCmdline(std::string_view procCmdline, const std::vector<std::string>& remove,
                          std::string_view append) {
    std::vector<std::string> drop = {"BOOT_IMAGE", "initrd"};
    for (auto& r : remove) drop.push_back(paramName(r));

    // Words after "--" belong to init, not the kernel: they are kept as they
    // are, and appended kernel parameters go before them.
    std::vector<std::string> kernel, init;
    bool forInit = false;
    for (auto& w : splitCmdline(procCmdline)) {
        if (forInit) {
            init.push_back(std::move(w));
        } else if (w == "--") {
            forInit = true;
        } else if (std::find(drop.begin(), drop.end(), paramName(w)) == drop.end()) {
            kernel.push_back(std::move(w));
        }
    }
    for (auto& w : splitCmdline(append)) kernel.push_back(std::move(w));

    std::string out;
    auto add = [&out](const std::string& w) {
        if (!out.empty()) out += ' ';
        out += w;
    };
    for (auto& w : kernel) add(w);
    if (forInit) {
        add("--");
        for (auto& w : init) add(w);
    }
    return out;
}

void validateCmdline(std::string_view cmdline) {
    if (cmdline.size() + 1 > kCmdlineMax)
        throw Error(ErrorCode::InvalidArgument,
                    "command line is " + std::to_string(cmdline.size()) +
                        " bytes; the kernel accepts at most " + std::to_string(kCmdlineMax - 1) +
                        " (check CmdlineAppend= in kexecd.conf)");
    for (unsigned char c : cmdline)
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            throw Error(ErrorCode::InvalidArgument,
                        "command line contains a control character (NUL or newline)");
    // The kernel takes any bytes, but the command line is shown on D-Bus and
    // in the journal, which need UTF-8.
    if (size_t bad = invalidUtf8Offset(cmdline); bad != std::string_view::npos)
        throw Error(ErrorCode::InvalidArgument,
                    "command line is not valid UTF-8: byte " + std::to_string(bad) + " (0x" +
                        escapeText(cmdline.substr(bad, 1)).substr(2) + ") in \"" +
                        escapeText(cmdline.substr(bad > 20 ? bad - 20 : 0, 40)) + "\"");
    if (std::count(cmdline.begin(), cmdline.end(), '"') % 2)
        throw Error(ErrorCode::InvalidArgument, "command line has an unbalanced double quote");
}

std::vector<std::string> cmdlineDiff(const std::string& from, const std::string& to) {
    auto a = splitCmdline(from), b = splitCmdline(to);
    std::vector<std::string> out;
    for (auto& w : b) {
        auto it = std::find(a.begin(), a.end(), w);
        if (it != a.end())
            a.erase(it);
        else
            out.push_back("+" + w);
    }
    for (auto& w : a) out.push_back("-" + w);
    return out;
}

}  // namespace kexecd
