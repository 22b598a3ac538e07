#include "grub_cfg.hpp"

#include <algorithm>
#include <cctype>

namespace kexecd {

namespace {

struct Word {
    std::string text;
    bool hasVariable = false;  // an unquoted or double-quoted $
    bool quoted = false;       // any part was quoted ('{' in quotes is no brace)
};

// GRUB's lexer, reduced to what menus use: commands end at a newline or ';',
// '#' at the start of a word comments out the rest of the line, single quotes
// are literal, double quotes and bare words take backslash escapes and $.
class Lexer {
  public:
    explicit Lexer(std::string_view s) : s_(s) {}

    // The next command's words; false at the end.
    bool next(std::vector<Word>* words) {
        words->clear();
        if (pendingClose_) {
            pendingClose_ = false;
            words->push_back(Word{"}", false, false});
            return true;
        }
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            if (c == '\n' || c == ';') {
                ++pos_;
                if (!words->empty()) return true;
                continue;
            }
            if (c == ' ' || c == '\t' || c == '\r') {
                ++pos_;
                continue;
            }
            if (c == '\\' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') {
                pos_ += 2;
                continue;
            }
            if (c == '#') {
                while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
                continue;
            }
            words->push_back(word());
            // Braces end a command: "menuentry 'x' { linux ... }" may sit
            // on one line.
            const Word& w = words->back();
            if (!w.quoted && w.text == "{") return true;
            if (!w.quoted && w.text == "}" && words->size() > 1) {
                words->pop_back();
                pendingClose_ = true;
                return true;
            }
        }
        return !words->empty();
    }

  private:
    Word word() {
        Word w;
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';') break;
            if (c == '\'') {
                w.quoted = true;
                size_t end = s_.find('\'', pos_ + 1);
                if (end == std::string_view::npos) end = s_.size();
                w.text.append(s_.substr(pos_ + 1, end - pos_ - 1));
                pos_ = end + 1;
            } else if (c == '"') {
                w.quoted = true;
                for (++pos_; pos_ < s_.size() && s_[pos_] != '"'; ++pos_) {
                    if (s_[pos_] == '\\' && pos_ + 1 < s_.size() &&
                        std::string_view("\\\"$\n").find(s_[pos_ + 1]) != std::string_view::npos) {
                        ++pos_;
                        if (s_[pos_] != '\n') w.text += s_[pos_];
                        continue;
                    }
                    if (s_[pos_] == '$') w.hasVariable = true;
                    w.text += s_[pos_];
                }
                ++pos_;
            } else if (c == '\\' && pos_ + 1 < s_.size()) {
                w.text += s_[pos_ + 1];
                pos_ += 2;
            } else {
                if (c == '$') w.hasVariable = true;
                w.text += c;
                ++pos_;
            }
        }
        return w;
    }

    std::string_view s_;
    size_t pos_ = 0;
    bool pendingClose_ = false;
};

bool isRecovery(const GrubItem& e) {
    if (e.title.find("(recovery mode)") != std::string::npos ||
        e.title.find("(rescue") != std::string::npos)
        return true;
    for (auto& a : e.args)
        if (a == "single" || a == "recovery" || a == "systemd.unit=rescue.target" ||
            a == "systemd.unit=emergency.target")
            return true;
    return false;
}

// GRUB passes an argument with a space to the kernel in double quotes; the
// kernel's parser wants them around the value ("key=\"a b\"").
std::string kernelArg(const std::string& w) {
    if (w.find_first_of(" \t") == std::string::npos) return w;
    size_t eq = w.find('=');
    if (eq == std::string::npos) return "\"" + w + "\"";
    return w.substr(0, eq + 1) + "\"" + w.substr(eq + 1) + "\"";
}

// The title and options of a menuentry or submenu command.
void readHeader(const std::vector<Word>& words, GrubItem* item) {
    for (size_t i = 1; i < words.size(); ++i) {
        const Word& w = words[i];
        if (w.text == "{" && !w.quoted) break;
        if (w.text == "$menuentry_id_option" || w.text == "${menuentry_id_option}" ||
            w.text == "--id") {
            if (i + 1 < words.size()) item->id = words[++i].text;
        } else if (w.text.rfind("--id=", 0) == 0) {
            item->id = w.text.substr(5);
        } else if (w.text == "--class" || w.text == "--users" || w.text == "--hotkey") {
            ++i;
        } else if (w.text.rfind("--", 0) == 0 && !w.quoted) {
            // --unrestricted and the like
        } else if (item->title.empty()) {
            item->title = w.text;
        }
    }
}

bool opensBlock(const std::vector<Word>& words) {
    return !words.empty() && words.back().text == "{" && !words.back().quoted;
}

}  // namespace

GrubConfig parseGrubCfg(std::string_view text) {
    GrubConfig cfg;
    Lexer lex(text);
    std::vector<Word> words;
    // The open blocks: a menu item being filled, or nullptr for a function
    // or another block whose contents are not menu items.
    std::vector<GrubItem*> stack;
    std::vector<std::vector<GrubItem>*> lists{&cfg.items};
    std::vector<bool> isItem;
    while (lex.next(&words)) {
        const std::string& cmd = words[0].text;
        bool item = cmd == "menuentry" || cmd == "submenu";
        if (cmd == "}" && !words[0].quoted) {
            if (!isItem.empty()) {
                if (isItem.back()) {
                    GrubItem* done = stack.back();
                    stack.pop_back();
                    lists.pop_back();
                    if (!done->submenu) done->recovery = isRecovery(*done);
                }
                isItem.pop_back();
            }
            continue;
        }
        if (item && opensBlock(words)) {
            bool inEntry = !stack.empty() && !stack.back()->submenu;
            if (inEntry) {  // not valid GRUB; keep the braces balanced
                isItem.push_back(false);
                continue;
            }
            GrubItem next;
            next.submenu = cmd == "submenu";
            readHeader(words, &next);
            lists.back()->push_back(std::move(next));
            GrubItem* added = &lists.back()->back();
            stack.push_back(added);
            lists.push_back(&added->children);
            isItem.push_back(true);
            continue;
        }
        if (opensBlock(words)) {  // function name { ... }
            isItem.push_back(false);
            continue;
        }
        if (cmd == "blscfg") cfg.blscfg = true;
        if ((cmd == "linux" || cmd == "linux16" || cmd == "linuxefi") && words.size() >= 2 &&
            !stack.empty() && !stack.back()->submenu) {
            GrubItem* e = stack.back();
            e->kernel = words[1].text;
            e->args.clear();
            e->variables.clear();
            for (size_t i = 2; i < words.size(); ++i) {
                if (words[i].hasVariable)
                    e->variables.push_back(words[i].text);
                else
                    e->args.push_back(kernelArg(words[i].text));
            }
        }
        if (cmd == "set" && words.size() >= 2 && stack.empty()) {
            const std::string& a = words[1].text;
            if (a.rfind("default=", 0) == 0) {
                std::string v = a.substr(8);
                // grub-reboot's one-shot branch: not the default.
                if (v != "${next_entry}" && v != "$next_entry") cfg.defaultEntry = v;
            }
        }
    }
    return cfg;
}

namespace {

const GrubItem* findIn(const std::vector<GrubItem>& items, std::string_view part) {
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
    });
    if (numeric) {
        size_t idx = 0;
        for (char c : part) {
            idx = idx * 10 + static_cast<size_t>(c - '0');
            if (idx > items.size()) return nullptr;
        }
        return idx < items.size() ? &items[idx] : nullptr;
    }
    for (auto& i : items)
        if (i.id == part) return &i;
    for (auto& i : items)
        if (i.title == part) return &i;
    return nullptr;
}

void collect(const std::vector<GrubItem>& items, std::vector<const GrubItem*>* out) {
    for (auto& i : items) {
        if (i.submenu)
            collect(i.children, out);
        else
            out->push_back(&i);
    }
}

}  // namespace

const GrubItem* findGrubEntry(const GrubConfig& cfg, std::string_view spec) {
    const std::vector<GrubItem>* level = &cfg.items;
    const GrubItem* found = nullptr;
    while (true) {
        size_t gt = spec.find('>');
        found = findIn(*level, spec.substr(0, gt));
        if (!found) return nullptr;
        if (gt == std::string_view::npos) break;
        level = &found->children;
        spec = spec.substr(gt + 1);
    }
    return found->submenu ? nullptr : found;
}

std::vector<const GrubItem*> grubEntries(const GrubConfig& cfg) {
    std::vector<const GrubItem*> out;
    collect(cfg.items, &out);
    return out;
}

std::string grubKernelSuffix(std::string_view kernelPath) {
    size_t slash = kernelPath.rfind('/');
    std::string_view name =
        slash == std::string_view::npos ? kernelPath : kernelPath.substr(slash + 1);
    for (std::string_view p : {"vmlinuz-", "Image-", "vmlinux-", "kernel-"})
        if (name.substr(0, p.size()) == p && name.size() > p.size())
            return std::string(name.substr(p.size()));
    return "";
}

}  // namespace kexecd
