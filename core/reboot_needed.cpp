#include "reboot_needed.hpp"

#include "text.hpp"
#include "version.hpp"

namespace kexecd {

RebootNeed rebootNeeded(const Root& root, const Status& s) {
    bool staged = s.loaded && !s.stagedVersion.empty();
    if (staged && compareVersions(s.stagedVersion, s.runningVersion) > 0)
        return {true, "the staged kernel " + s.stagedVersion + " is newer than the running " +
                          s.runningVersion};
    std::error_code ec;
    if (std::filesystem::exists(root.path("/run/reboot-required"), ec)) {
        std::string pkgs;
        if (auto t = readSmallFile(root.path("/run/reboot-required.pkgs"), 4096)) {
            for (char& c : *t)
                if (c == '\n') c = ' ';
            pkgs = escapeText(*t);
            while (!pkgs.empty() && pkgs.back() == ' ') pkgs.pop_back();
        }
        return {true, "/run/reboot-required exists" + (pkgs.empty() ? "" : " (" + pkgs + ")")};
    }
    if (!staged) return {false, "nothing newer is staged and /run/reboot-required does not exist"};
    return {false, "the staged kernel " + s.stagedVersion + " is not newer than the running " +
                       s.runningVersion + ", and /run/reboot-required does not exist"};
}

}  // namespace kexecd
