#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "text.hpp"
#include "verbs.hpp"

namespace kexecctl {

int verbList(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: list takes no arguments\n");
        return kUsage;
    }
    auto kernels = c.manager().ListKernels();
    auto props = c.manager().all();
    auto staged = props["StagedKernel"].get<std::string>();
    auto running = props["RunningVersion"].get<std::string>();

    if (c.opts().json != JsonMode::Off) {
        nlohmann::json out = nlohmann::json::array();
        for (auto& k : kernels)
            out.push_back({{"version", k.get<0>()},
                           {"image", k.get<1>()},
                           {"initrds", k.get<2>()},
                           {"bootable", k.get<3>()},
                           {"reason", k.get<4>()},
                           {"staged", k.get<1>() == staged},
                           {"running", k.get<0>() == running}});
        printJson(out, c.opts().json);
        return kOk;
    }
    if (kernels.empty()) {
        std::printf("No kernel images in /boot.\n");
        return kOk;
    }
    // What the daemon read from files, shown to any user: never raw (a
    // banner with terminal escapes could forge lines).
    for (auto& k : kernels) {
        k.get<0>() = kexecd::escapeText(k.get<0>());
        k.get<1>() = kexecd::escapeText(k.get<1>());
        k.get<4>() = kexecd::escapeText(k.get<4>());
    }
    size_t wv = 7, wi = 5;
    for (auto& k : kernels) {
        wv = std::max(wv, k.get<0>().size());
        wi = std::max(wi, k.get<1>().size());
    }
    auto& out = Output::get();
    if (c.opts().legend) {
        std::vector<char> head(wv + wi + 64);
        std::snprintf(head.data(), head.size(), "  %-*s  %-8s  %-*s  %s", int(wv), "VERSION",
                      "BOOTABLE", int(wi), "IMAGE", "NOTE");
        std::printf("%s\n", out.paint(Color::Bold, head.data()).c_str());
    }
    bool firstBootable = true;
    for (auto& k : kernels) {
        std::string note;
        auto add = [&note](const std::string& s) { note += (note.empty() ? "" : ", ") + s; };
        if (k.get<1>() == staged) add("staged");
        if (k.get<3>() && firstBootable) add("newest");
        if (k.get<0>() == running) add("running");
        if (!k.get<3>()) add(k.get<4>());
        if (k.get<3>()) firstBootable = false;
        bool isStaged = k.get<1>() == staged;
        std::printf("%s %-*s  %s  %-*s  %s\n",
                    out.paint(Color::Green, isStaged ? "*" : " ").c_str(), int(wv),
                    k.get<0>().c_str(),
                    k.get<3>() ? "yes     " : out.paint(Color::Red, "no      ").c_str(), int(wi),
                    k.get<1>().c_str(), note.c_str());
    }
    return kOk;
}

}  // namespace kexecctl
