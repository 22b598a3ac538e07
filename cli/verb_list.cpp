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
    // (source, version, entry, image, initrds, bootable, reason)
    auto entries = c.manager().ListBootEntries();
    auto props = c.manager().all();
    auto staged = props["StagedKernel"].get<std::string>();
    auto running = props["RunningVersion"].get<std::string>();

    if (c.opts().json != JsonMode::Off) {
        nlohmann::json out = nlohmann::json::array();
        for (auto& k : entries)
            out.push_back({{"version", k.get<1>()},
                           {"image", k.get<3>()},
                           {"initrds", k.get<4>()},
                           {"bootable", k.get<5>()},
                           {"reason", k.get<6>()},
                           {"source", k.get<0>()},
                           {"entry", k.get<2>()},
                           {"staged", k.get<3>() == staged},
                           {"running", k.get<1>() == running}});
        printJson(out, c.opts().json);
        return kOk;
    }
    if (entries.empty()) {
        std::printf("No kernel images in /boot and no boot entries on the ESP.\n");
        return kOk;
    }
    // What the daemon read from files, shown to any user: never raw (a
    // banner with terminal escapes could forge lines).
    for (auto& k : entries) {
        k.get<0>() = kexecd::escapeText(k.get<0>());
        k.get<1>() = kexecd::escapeText(k.get<1>());
        k.get<3>() = kexecd::escapeText(k.get<3>());
        k.get<6>() = kexecd::escapeText(k.get<6>());
    }
    size_t wv = 7, wi = 5;
    for (auto& k : entries) {
        wv = std::max(wv, k.get<1>().size());
        wi = std::max(wi, k.get<3>().size());
    }
    auto& out = Output::get();
    if (c.opts().legend) {
        std::vector<char> head(wv + wi + 64);
        std::snprintf(head.data(), head.size(), "  %-*s  %-8s  %-6s  %-*s  %s", int(wv), "VERSION",
                      "BOOTABLE", "SOURCE", int(wi), "IMAGE", "NOTE");
        std::printf("%s\n", out.paint(Color::Bold, head.data()).c_str());
    }
    bool firstBootable = true;
    for (auto& k : entries) {
        const auto& version = k.get<1>();
        const auto& image = k.get<3>();
        bool bootable = k.get<5>();
        std::string note;
        auto add = [&note](const std::string& s) { note += (note.empty() ? "" : ", ") + s; };
        if (image == staged) add("staged");
        if (bootable && firstBootable) add("newest");
        if (version == running) add("running");
        if (!bootable) add(k.get<6>());
        if (bootable) firstBootable = false;
        bool isStaged = image == staged;
        std::printf("%s %-*s  %s  %-6s  %-*s  %s\n",
                    out.paint(Color::Green, isStaged ? "*" : " ").c_str(), int(wv), version.c_str(),
                    bootable ? "yes     " : out.paint(Color::Red, "no      ").c_str(),
                    k.get<0>().c_str(), int(wi), image.c_str(), note.c_str());
    }
    return kOk;
}

}  // namespace kexecctl
