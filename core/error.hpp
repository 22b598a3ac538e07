#pragma once
// The one error type of the core library. The D-Bus adaptor maps each code to
// an org.kexecd1.Error.* name; the message goes to the caller as it is, so it
// must say what happened and what to do about it.
#include <stdexcept>
#include <string>
#include <string_view>

namespace kexecd {

enum class ErrorCode {
    NotFound,
    NotBootable,
    InvalidArgument,
    KexecFailed,
    NotStaged,
    Busy,
    Failed,
    // [Fleet]: the coordinator (etcd, a FleetLock server) cannot be reached
    // or answers nonsense; the node does not reboot.
    CoordinatorUnavailable,
    // [Fleet]: every reboot slot of the group is held (and the caller would
    // not wait).
    NoSlot,
};

// The D-Bus error name suffix ("NotFound" for org.kexecd1.Error.NotFound).
std::string_view errorName(ErrorCode code);

class Error : public std::runtime_error {
  public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const { return code_; }

  private:
    ErrorCode code_;
};

}  // namespace kexecd
