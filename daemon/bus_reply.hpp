#pragma once
// The adaptor's side of the bus: strings made fit for it, core errors turned
// into D-Bus errors, replies that never throw. Shared by the Manager's
// files.
#include <sdbus-c++/sdbus-c++.h>

#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "log.hpp"
#include "text.hpp"

namespace kexecd {

inline constexpr auto kBusy = "org.kexecd1.Error.Busy";
inline constexpr auto kFailed = "org.kexecd1.Error.Failed";

// The last line of defence for everything handed to sdbus: a string that is
// not UTF-8 (or holds a NUL) would make the whole reply fail, for every
// caller. Whatever made it should have been caught earlier; here it is
// escaped rather than lost.
inline std::string forBus(std::string_view s) {
    if (isValidUtf8(s) && s.find('\0') == std::string_view::npos) return std::string(s);
    log::debug("escaped a string that is not UTF-8 in a D-Bus reply");
    return escapeText(s);
}

inline std::vector<std::string> forBus(const std::vector<std::string>& v) {
    std::vector<std::string> out;
    out.reserve(v.size());
    for (auto& s : v) out.push_back(forBus(s));
    return out;
}

inline sdbus::Error toDbus(const Error& e) {
    return sdbus::Error("org.kexecd1.Error." + std::string(errorName(e.code())), forBus(e.what()));
}

// The adaptor boundary: sdbus-c++ aborts the process on anything but an
// sdbus::Error, so every exception is translated here.
template <typename F>
auto translated(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const sdbus::Error&) {
        throw;
    } catch (const Error& e) {
        throw toDbus(e);
    } catch (const std::exception& e) {
        log::error("internal error: {}", escapeText(e.what()));
        throw sdbus::Error(kFailed, "internal error: " + forBus(e.what()));
    } catch (...) {
        log::error("internal error");
        throw sdbus::Error(kFailed, "internal error");
    }
}

// A reply that cannot be sent (the caller left, the bus is gone) is no
// reason to stop anything else.
template <typename... R>
void replyError(sdbus::Result<R...>& result, const sdbus::Error& e) noexcept {
    try {
        result.returnError(e);
    } catch (const std::exception& e2) {
        log::debug("cannot send error reply: {}", e2.what());
    }
}

// The work is done whether or not its caller is still there to hear it.
template <typename... R, typename... A>
void reply(sdbus::Result<R...>& result, const A&... out) noexcept {
    try {
        result.returnResults(out...);
    } catch (const std::exception& e) {
        log::debug("cannot send reply: {}", e.what());
    }
}

}  // namespace kexecd
