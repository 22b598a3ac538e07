#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmdline.hpp"
#include "status_format.hpp"
#include "text.hpp"
#include "verbs.hpp"

namespace kexecctl {

namespace {

template <typename T>
T get(const std::map<std::string, sdbus::Variant>& p, const char* key) {
    auto it = p.find(key);
    return it == p.end() ? T{} : it->second.get<T>();
}

}  // namespace

int verbStatus(Client& c, const Args& args) {
    if (!args.empty()) {
        std::fprintf(stderr, "kexecctl: status takes no arguments\n");
        return kUsage;
    }
    auto p = c.manager().all();
    auto loaded = get<bool>(p, "Loaded");
    auto version = get<std::string>(p, "StagedVersion");
    auto kernel = get<std::string>(p, "StagedKernel");
    auto initrds = get<std::vector<std::string>>(p, "StagedInitrds");
    auto cmdline = get<std::string>(p, "StagedCmdline");
    auto origin = get<std::string>(p, "StagedOrigin");
    auto newest = get<std::string>(p, "NewestVersion");
    auto running = get<std::string>(p, "RunningVersion");
    auto autoStage = get<bool>(p, "AutoStage");
    // Older daemons lack these: "" then, and nothing is said about them.
    auto bootLoader = get<std::string>(p, "BootLoader");
    auto defaultVersion = get<std::string>(p, "DefaultVersion");
    auto bootLoaderCmdline = get<std::string>(p, "BootLoaderCmdline");
    auto stagedBy = get<std::string>(p, "StagedBy");
    auto stagedAt = get<uint64_t>(p, "StagedTimestamp");
    auto stagedBytes = get<uint64_t>(p, "StagedBytes");
    auto bootKind = get<std::string>(p, "BootKind");
    auto firmwareUsec = get<uint64_t>(p, "FirmwareUSec");
    auto loaderUsec = get<uint64_t>(p, "LoaderUSec");
    auto fleetState = get<std::string>(p, "FleetState");  // "" without a coordinator
    std::vector<std::string> drift;
    if (!version.empty() && !bootLoaderCmdline.empty())
        drift = kexecd::cmdlineDiff(bootLoaderCmdline, cmdline);

    if (c.opts().json != JsonMode::Off) {
        nlohmann::json j = {{"loaded", loaded},
                            {"staged_version", version},
                            {"staged_kernel", kernel},
                            {"staged_initrds", initrds},
                            {"staged_cmdline", cmdline},
                            {"staged_origin", origin},
                            {"newest_version", newest},
                            {"running_version", running},
                            {"auto_stage", autoStage},
                            {"boot_loader", bootLoader},
                            {"default_version", defaultVersion},
                            {"boot_loader_cmdline", bootLoaderCmdline},
                            {"cmdline_drift", drift},
                            {"staged_by", stagedBy},
                            {"staged_timestamp_usec", stagedAt},
                            {"staged_bytes", stagedBytes},
                            {"boot_kind", bootKind},
                            {"firmware_usec", firmwareUsec},
                            {"loader_usec", loaderUsec},
                            {"fleet_state", fleetState}};
        printJson(j, c.opts().json);
        return kOk;
    }

    // Text that came from files is escaped before it reaches a terminal.
    auto row = [](const char* k, const std::string& v) {
        std::printf("%12s: %s\n", k, kexecd::escapeText(v).c_str());
    };
    auto& out = Output::get();
    if (!version.empty()) {
        std::printf("%12s: %s%s\n", "Staged",
                    out.paint(Color::Green, kexecd::escapeText(version)).c_str(),
                    origin == "simulated" ? " (simulated)" : "");
        row("Kernel", kernel);
        for (size_t i = 0; i < initrds.size(); ++i) row(i ? "" : "Initrd", initrds[i]);
        // A UKI's initrds are its own sections (and its add-ons').
        if (initrds.empty())
            row("Initrd",
                kexecd::hasSuffixNoCase(kernel, ".efi") ? "(the UKI's sections)" : "(none)");
        row("Cmdline", cmdline);
        if (!stagedBy.empty() || stagedAt) {
            std::string by = stagedBy.empty() ? "(unknown)" : stagedBy;
            if (stagedAt) {
                auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch());
                by += ", " + formatTimestamp(stagedAt, static_cast<uint64_t>(now.count()));
            }
            row("Staged by", by);
        }
        if (stagedBytes)
            row("Memory",
                formatBytes(stagedBytes) + " (kernel and initrds held for the next boot)");
    } else if (origin == "foreign") {
        row("Staged", "a kernel loaded by another tool (kexecd leaves it alone)");
    } else {
        row("Staged", "nothing");
    }
    row("Loaded", loaded ? "yes" : "no");
    row("Newest", newest.empty() ? "(no bootable kernel in /boot)" : newest);
    row("Running", running);
    row("AutoStage", autoStage ? "yes" : "no");
    row("Boot loader", bootLoader.empty() ? "(no configuration found)" : bootLoader);
    if (!defaultVersion.empty()) {
        std::string note;
        if (!version.empty() && version != defaultVersion)
            note = version == newest ? " (staged the newest instead)" : " (staged another)";
        row("Default", defaultVersion + note);
    }
    if (!drift.empty()) {
        std::string d;
        for (auto& w : drift) d += (d.empty() ? "" : " ") + w;
        std::printf("%12s: %s\n", "Drift",
                    out.paint(Color::Yellow, kexecd::escapeText(d) +
                                                 " (staged against the boot loader's command line)")
                        .c_str());
    }
    if (!bootKind.empty()) {
        uint64_t skipped = firmwareUsec + loaderUsec;
        std::string fw = formatSeconds(firmwareUsec) + " of firmware + " +
                         formatSeconds(loaderUsec) + " of boot loader";
        if (bootKind == "kexec")
            row("Last boot",
                skipped ? "kexec (skipped " + fw + ", as in the last cold boot)" : "kexec");
        else
            row("Last boot",
                skipped ? "through the firmware (" + fw + ": what a fast reboot skips)"
                        : "through the firmware (its time is unknown: systemd measures it on "
                          "UEFI only)");
    }
    if (!fleetState.empty()) {
        row("Fleet", fleetState);
        // Who holds the group's slots, as the coordinator says: a node that
        // did not come back is named on every node.
        try {
            auto j = nlohmann::json::parse(c.manager().FleetStatus(), nullptr, false);
            if (j.is_object() && j.value("total_slots", nlohmann::json()).is_number()) {
                std::string held = std::to_string(j["holders"].size()) + "/" +
                                   std::to_string(j["total_slots"].get<unsigned>()) + " held";
                for (size_t i = 0; i < j["holders"].size(); ++i)
                    held += (i ? ", " : " by ") + j["holders"][i].get<std::string>();
                row("Slots", held);
            }
        } catch (const sdbus::Error& e) {
            row("Slots", "(unknown: " + e.getMessage() + ")");
        }
    }

    if (!c.opts().legend) return kOk;
    if (version.empty() && origin != "foreign" && !newest.empty())
        std::printf("\nNothing staged: 'kexecctl stage' stages %s.\n",
                    kexecd::escapeText(newest).c_str());
    else if (!version.empty() && !newest.empty() && newest != version)
        std::printf("\nA newer kernel is in /boot: 'kexecctl stage' stages %s.\n",
                    kexecd::escapeText(newest).c_str());
    else if (!version.empty())
        std::printf(
            "\n'systemctl kexec' or 'kexecctl reboot' boots it, skipping firmware and "
            "boot loader.\n");
    return kOk;
}

}  // namespace kexecctl
