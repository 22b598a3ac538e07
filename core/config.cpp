#include "config.hpp"

#include <fcntl.h>
#include <ini.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>

#include "cmdline.hpp"
#include "error.hpp"
#include "text.hpp"
#include "unique_fd.hpp"

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

// libinih (as Debian builds it) treats ';' after whitespace as the start of
// a comment, which would cut `init=/bin/sh -c "a ;b"`. Every ';' is handed
// to it as this byte instead, which cannot occur in the UTF-8 text it gets,
// and turned back in onEntry.
constexpr char kHiddenSemicolon = '\xFF';

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// One file being parsed: the reader's position in the text and the first
// error, which stops the reader, so nothing after a bad line applies.
struct Parse {
    std::string_view text;
    size_t pos = 0;
    int line = 0;
    const std::string* name;
    Config* config;
    std::vector<std::string>* warnings;
    std::string error;
    int errorLine = 0;
    // An exception (std::bad_alloc) is not let through inih's C frames: it
    // is kept here, parsing stops, and it is thrown again afterwards.
    std::exception_ptr exception;

    bool failed() const { return errorLine != 0 || exception; }
    void fail(std::string why) {
        if (failed()) return;
        error = std::move(why);
        errorLine = line;
    }
    std::string where() const { return *name + ":" + std::to_string(line); }
};

// Offset of the first control character (C0 but tab, DEL, C1), or npos.
// `s` is valid UTF-8, so C1 controls are the pairs C2 80..C2 9F.
size_t controlOffset(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7F) return i;
        if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0) return i;
    }
    return std::string_view::npos;
}

std::string_view stripSpace(std::string_view s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Checks a line inih would misread, or that systemd would refuse. Returns
// why, or "".
std::string badLine(std::string_view l) {
    if (l[0] == '[') {
        std::string_view rest = stripSpace(l);
        if (rest.size() < 3 || rest.back() != ']' || rest.find_first_of("[]", 1) != rest.size() - 1)
            return "a section header is [Name] alone on its line";
        return "";
    }
    size_t eq = l.find('=');
    std::string_view key = eq == std::string_view::npos ? l : stripSpace(l.substr(0, eq));
    // inih also splits at ':' (Python's configparser); systemd does not.
    if (eq == std::string_view::npos || key.empty() || key.find(':') != std::string_view::npos)
        return "expected [Section] or Key=value";
    return "";
}

// inih's fgets-like reader, over the text in memory: one line per call, as
// inih must see it, or nullptr at the end or at the first bad line.
char* nextLine(char* buf, size_t num, Parse* p) {
    if (p->failed() || p->pos >= p->text.size()) return nullptr;
    size_t nl = p->text.find('\n', p->pos);
    size_t end = nl == std::string_view::npos ? p->text.size() : nl;
    std::string_view l = p->text.substr(p->pos, end - p->pos);
    p->pos = end + 1;
    ++p->line;
    if (p->line == 1 && l.starts_with(kBom)) l.remove_prefix(kBom.size());
    if (l.ends_with('\r')) l.remove_suffix(1);  // written on Windows

    // Positions are 1-based, as editors count columns.
    if (size_t bad = invalidUtf8Offset(l); bad != std::string_view::npos) {
        p->fail("not valid UTF-8 (byte " + std::to_string(bad + 1) + ")");
        return nullptr;
    }
    if (size_t bad = controlOffset(l); bad != std::string_view::npos) {
        auto c = static_cast<unsigned char>(l[bad]);
        unsigned code = c == 0xC2 ? static_cast<unsigned char>(l[bad + 1]) : c;
        char what[16];
        std::snprintf(what, sizeof what, c == 0xC2 ? "U+%04X" : "0x%02x", code);
        p->fail(std::string("control character ") + what + " (byte " + std::to_string(bad + 1) +
                ")");
        return nullptr;
    }
    // Leading whitespace goes: inih would take an indented line for the
    // continuation of the previous value.
    l.remove_prefix(std::min(l.size(), l.find_first_not_of(" \t")));
    // systemd's rule: a comment is a line that starts with '#' or ';', and
    // only that. It is handed on as an empty line, so it has no length limit
    // and line numbers stay right.
    if (l.empty() || l[0] == '#' || l[0] == ';') l = {};
    if (!l.empty()) {
        if (std::string why = badLine(l); !why.empty()) {
            p->fail(why);
            return nullptr;
        }
    }
    // What fgets would store: the line, '\n' and a NUL. A longer line would
    // be split by inih and its rest parsed as a line of its own.
    size_t room = num > 2 ? num - 2 : 0;
    if (num < 2 || l.size() > room) {
        p->fail("line is longer than " + std::to_string(room) +
                " bytes; split it (CmdlineAppend= may be given several times)");
        return nullptr;
    }
    char* out = std::copy(l.begin(), l.end(), buf);
    std::replace(buf, out, ';', kHiddenSemicolon);
    *out++ = '\n';
    *out = '\0';
    return buf;
}

char* readLine(char* buf, int num, void* stream) {
    auto* p = static_cast<Parse*>(stream);
    try {
        return nextLine(buf, num > 0 ? static_cast<size_t>(num) : 0, p);
    } catch (...) {
        p->exception = std::current_exception();
        return nullptr;
    }
}

std::string unhide(const char* s) {
    std::string out(s);
    std::replace(out.begin(), out.end(), kHiddenSemicolon, ';');
    return out;
}

void setBool(bool* out, std::string_view key, std::string_view value, Parse* p) {
    auto b = parseBool(value);
    // Escaped: a tab in the value would otherwise reach the journal.
    if (!b) return p->fail(std::string(key) + "=" + escapeText(value) + " is not yes or no");
    *out = *b;
}

void apply(Parse* p, const std::string& sec, const std::string& key, const std::string& val) {
    auto unknown = [&] {
        // Section names are cut by inih at 49 bytes, possibly inside a
        // UTF-8 sequence: escaped, so the warning is fit for the journal.
        p->warnings->push_back(p->where() + ": unknown key " + escapeText(key) + " in [" +
                               escapeText(sec) + "], ignoring");
    };
    Config& c = *p->config;
    if (sec == "Reboot") {
        if (key == "UseKexec") return setBool(&c.rebootUsesKexec, key, val, p);
        if (key == "StepAside") return setBool(&c.stepAside, key, val, p);
        return unknown();
    }
    if (sec == "Fleet") {
        std::string error;
        if (!applyFleetKey(c.fleet, key, val, &error)) return unknown();
        if (!error.empty()) return p->fail(error);
        return;
    }
    if (sec != "Stage") return unknown();
    if (key == "AutoStage") return setBool(&c.autoStage, key, val, p);
    if (key == "RequireInitrd") return setBool(&c.requireInitrd, key, val, p);
    if (key == "RequireModules") return setBool(&c.requireModules, key, val, p);
    if (key == "CmdlineAppend") {
        // Like systemd's list settings: each line adds, an empty value resets.
        if (val.empty())
            c.cmdlineAppend.clear();
        else
            c.cmdlineAppend += (c.cmdlineAppend.empty() ? "" : " ") + val;
        return;
    }
    if (key == "CmdlineRemove") {
        if (val.empty()) c.cmdlineRemove.clear();
        for (auto& word : splitCmdline(val)) c.cmdlineRemove.push_back(word);
        return;
    }
    if (key == "CmdlineSource") {
        if (val != "running" && val != "bootloader")
            return p->fail("CmdlineSource=" + escapeText(val) + " is not running or bootloader");
        c.cmdlineFromBootLoader = val == "bootloader";
        return;
    }
    if (key == "Kernel") {
        if (val != "newest" && val != "default")
            return p->fail("Kernel=" + escapeText(val) + " is not newest or default");
        c.bootLoaderDefaultKernel = val == "default";
        return;
    }
    if (key == "SettleDelaySec") {
        double sec = -1;
        auto [ptr, ec] = std::from_chars(val.data(), val.data() + val.size(), sec);
        if (ec != std::errc() || ptr != val.data() + val.size() || !(sec >= 0) || sec > 3600)
            return p->fail("SettleDelaySec=" + escapeText(val) +
                           " is not a number of seconds between 0 and 3600");
        c.settleMs = static_cast<unsigned>(std::lround(sec * 1000));
        return;
    }
    unknown();
}

int onEntry(void* user, const char* section, const char* name, const char* value) {
    auto* p = static_cast<Parse*>(user);
    try {
        if (!p->failed()) apply(p, unhide(section), unhide(name), unhide(value));
    } catch (...) {
        p->exception = std::current_exception();
    }
    return 1;  // errors are kept in Parse, with their message
}

// The file's contents; nullopt when it does not exist. Anything but a
// regular file is an error, or with `skipped` a warning added to it and
// nullopt. Never blocks (a FIFO is never read) and never reads past
// kConfigFileMax.
std::optional<std::string> readConfigFile(const std::filesystem::path& file,
                                          const std::string& name,
                                          std::vector<std::string>* skipped) {
    auto fail = [&](const std::string& why) { throw Error(ErrorCode::InvalidArgument, why); };
    // stat() first, for a clear message about a socket (open: ENXIO); the
    // fstat() below is what counts.
    auto regular = [&](const struct stat& st) {
        if (S_ISREG(st.st_mode)) return true;
        if (skipped) {
            skipped->push_back(name + " is not a regular file, skipping it");
            return false;
        }
        if (S_ISDIR(st.st_mode))
            fail(name + " is a directory, not a configuration file (drop-ins go in " + name +
                 ".d/*.conf)");
        fail(name + " is not a regular file");
        return false;
    };
    struct stat st {};
    if (::stat(file.c_str(), &st) < 0) {
        if (errno == ENOENT) return std::nullopt;
        fail("cannot open " + name + ": " + errnoText(errno));
    }
    if (!regular(st)) return std::nullopt;
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        fail("cannot open " + name + ": " + errnoText(errno));
    }
    if (::fstat(fd.get(), &st) < 0) fail("cannot read " + name + ": " + errnoText(errno));
    if (!regular(st)) return std::nullopt;
    std::string text;
    char buf[16384];
    for (;;) {
        if (st.st_size > static_cast<off_t>(kConfigFileMax) || text.size() > kConfigFileMax)
            fail(name + " is larger than " + std::to_string(kConfigFileMax >> 20) +
                 " MiB; a configuration file is a few lines");
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot read " + name + ": " + errnoText(errno));
        if (n == 0) return text;
        text.append(buf, static_cast<size_t>(n));
    }
}

// The drop-ins' paths, sorted by name.
std::vector<std::filesystem::path> dropIns(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    std::error_code ec;
    auto it = fs::directory_iterator(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec))
        if (it->path().extension() == ".conf") files.push_back(it->path());
    if (ec && ec != std::errc::no_such_file_or_directory)
        throw Error(ErrorCode::InvalidArgument,
                    "cannot read " + escapeText(dir.string()) + ": " + ec.message());
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
    return files;
}

// A drop-in linked to /dev/null masks the file of that name in the
// directories after it, as in systemd.
bool masked(const std::filesystem::path& f) {
    std::error_code ec;
    return std::filesystem::is_symlink(f, ec) &&
           std::filesystem::read_symlink(f, ec) == "/dev/null";
}

}  // namespace

void parseConfigText(std::string_view text, const std::string& name, Config* config,
                     std::vector<std::string>* warnings) {
    Parse p{text, 0, 0, &name, config, warnings, "", 0, nullptr};
    int rc = ini_parse_stream(readLine, &p, onEntry, &p);
    if (p.exception) std::rethrow_exception(p.exception);
    if (p.failed())
        throw Error(ErrorCode::InvalidArgument,
                    name + ":" + std::to_string(p.errorLine) + ": " + p.error);
    if (rc == -2) throw std::bad_alloc();
    // readLine lets through only lines inih accepts; should it ever disagree,
    // say so rather than apply half a file.
    if (rc != 0)
        throw Error(ErrorCode::InvalidArgument, name + ":" + std::to_string(rc) + ": syntax error");
}

Config loadConfig(const std::filesystem::path& mainFile, std::vector<std::string>* warnings) {
    Config config;
    std::string name = escapeText(mainFile.string());
    if (auto text = readConfigFile(mainFile, name, nullptr))
        parseConfigText(*text, name, &config, warnings);
    for (auto& f : dropIns(mainFile.string() + ".d")) {
        if (masked(f)) continue;
        std::string fname = escapeText(f.string());
        if (auto text = readConfigFile(f, fname, warnings))
            parseConfigText(*text, fname, &config, warnings);
    }
    return config;
}

Config loadSystemConfig(const Root& root, std::vector<std::string>* warnings) {
    Config config;
    auto apply = [&](const std::filesystem::path& f) {
        std::string name = escapeText(root.display(f));
        if (auto text = readConfigFile(f, name, f == root.path(kMainConfig) ? nullptr : warnings))
            parseConfigText(*text, name, &config, warnings);
    };
    apply(root.path(kMainConfig));
    // One file per name: the first directory that has it wins, and the
    // winners are applied in the order of their names.
    std::map<std::string, std::filesystem::path> byName;
    for (const char* dir : kDropInDirs)
        for (auto& f : dropIns(root.path(dir))) byName.emplace(f.filename().string(), f);
    for (auto& [name, f] : byName)
        if (!masked(f)) apply(f);
    return config;
}

}  // namespace kexecd
