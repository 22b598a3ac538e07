#pragma once
// One function per kexecctl verb, each in its own file.
#include <string>
#include <vector>

#include "client.hpp"

namespace kexecctl {

using Args = std::vector<std::string>;  // positional arguments after the verb

int verbStatus(Client& c, const Args& args);
int verbList(Client& c, const Args& args);
int verbStage(Client& c, const Args& args);
int verbUnstage(Client& c, const Args& args);
int verbReboot(Client& c, const Args& args);
int verbRescan(Client& c, const Args& args);
int verbCheck(Client& c, const Args& args);
int verbIsStaged(Client& c, const Args& args);
int verbFleet(Client& c, const Args& args);

}  // namespace kexecctl
