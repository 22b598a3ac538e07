#include <cstdio>
#include <nlohmann/json.hpp>

#include "text.hpp"
#include "verbs.hpp"

namespace kexecctl {

namespace {

std::string str(const nlohmann::json& j, const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? kexecd::escapeText(it->get<std::string>()) : "";
}

int fleetStatus(Client& c) {
    std::string text = c.manager().FleetStatus();
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) {
        std::fprintf(stderr, "kexecctl: kexecd sent a fleet status that is not JSON\n");
        return kFailed;
    }
    if (c.opts().json != JsonMode::Off) {
        printJson(j, c.opts().json);
        return kOk;
    }
    auto row = [](const char* k, const std::string& v) { std::printf("%12s: %s\n", k, v.c_str()); };
    row("Coordinator", str(j, "coordinator"));
    if (str(j, "coordinator") == "none") {
        if (c.opts().legend)
            std::printf("\nNo [Fleet] coordinator is configured: reboots take no slot.\n");
        return kOk;
    }
    row("Group", str(j, "group"));
    std::string node = str(j, "node");
    if (j.value("holding", nlohmann::json()).is_boolean())
        node += j["holding"].get<bool>() ? " (holds a slot)" : " (holds no slot)";
    row("Node", node);
    if (j["total_slots"].is_number()) {
        std::string held = std::to_string(j["holders"].size()) + "/" +
                           std::to_string(j["total_slots"].get<unsigned>()) + " held";
        row("Slots", held);
        bool first = true;
        for (auto& h : j["holders"]) {
            row(first ? "Holders" : "", kexecd::escapeText(h.get<std::string>()));
            first = false;
        }
    } else {
        row("Slots", "(not shown by this coordinator, or not created yet)");
    }
    row("State", str(j, "state"));
    return kOk;
}

}  // namespace

int verbFleet(Client& c, const Args& args) {
    std::string sub = args.empty() ? "status" : args[0];
    if (sub == "status" && args.size() <= 1) return fleetStatus(c);
    if (sub == "release" && args.size() <= 2) {
        std::string id = args.size() == 2 ? args[1] : "";
        c.manager().FleetRelease(c.opts().interactive, id);
        if (!c.opts().quiet)
            std::printf("Released the reboot slot of %s.\n",
                        id.empty() ? "this node" : kexecd::escapeText(id).c_str());
        return kOk;
    }
    std::fprintf(stderr, "kexecctl: usage: kexecctl fleet status | kexecctl fleet release [ID]\n");
    return kUsage;
}

}  // namespace kexecctl
