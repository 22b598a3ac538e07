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

// `escalated`: the call asks for more than the method's usual action covers,
// and needs a stronger one: Stage with a command line of its own (init=/bin/sh
// makes the next boot a root shell), RebootWithFlags overriding inhibitors.
Authorization authorizationFor(std::string_view method, bool escalated = false);

}  // namespace kexecd
