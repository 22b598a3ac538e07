#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "text.hpp"
#include "verbs.hpp"

namespace kexecctl {

// Like `bootctl status` for kexec: exit 0 when nothing fails, 1 otherwise, so
// that scripts can ask "would a fast reboot work and boot the right thing?".
int verbCheck(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: check takes no arguments\n");
        return kUsage;
    }
    auto items = c.manager().Check();
    bool failed = false;
    for (auto& i : items) failed |= i.get<1>() == "fail";
    if (c.opts().json != JsonMode::Off) {
        nlohmann::json out = nlohmann::json::array();
        for (auto& i : items)
            out.push_back({{"name", i.get<0>()}, {"verdict", i.get<1>()}, {"text", i.get<2>()}});
        printJson(out, c.opts().json);
        return failed ? kFailed : kOk;
    }
    size_t w = 4;
    for (auto& i : items) w = std::max(w, i.get<0>().size());
    auto& out = Output::get();
    if (c.opts().legend && !items.empty())
        std::printf("%s\n", out.paint(Color::Bold, "VERDICT  CHECK").c_str());
    for (auto& i : items) {
        auto& verdict = i.get<1>();
        std::string shown = verdict;
        shown.resize(std::max<size_t>(shown.size(), 4), ' ');
        Color col = verdict == "ok" ? Color::Green : verdict == "fail" ? Color::Red : Color::Yellow;
        std::printf("%s     %-*s  %s\n", out.paint(col, shown).c_str(), int(w),
                    kexecd::escapeText(i.get<0>()).c_str(), kexecd::escapeText(i.get<2>()).c_str());
    }
    return failed ? kFailed : kOk;
}

}  // namespace kexecctl
