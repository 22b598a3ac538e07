#pragma once
// The one authorization table: which polkit action guards which method.
// Anything not in the table is denied.
#include <string>
#include <string_view>

namespace kexecd {

struct Authorization {
    enum class Kind { Public, Polkit, Deny } kind = Kind::Deny;
    std::string action;  // polkit action id for Kind::Polkit
};

// `customCmdline`: Stage was given a command line of its own, which can make
// the next boot a root shell (init=/bin/sh) and so needs a stronger action.
Authorization authorizationFor(std::string_view method, bool customCmdline = false);

}  // namespace kexecd
