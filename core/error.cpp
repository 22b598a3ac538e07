#include "error.hpp"

namespace kexecd {

std::string_view errorName(ErrorCode code) {
    switch (code) {
        case ErrorCode::NotFound:
            return "NotFound";
        case ErrorCode::NotBootable:
            return "NotBootable";
        case ErrorCode::InvalidArgument:
            return "InvalidArgument";
        case ErrorCode::KexecFailed:
            return "KexecFailed";
        case ErrorCode::NotStaged:
            return "NotStaged";
        case ErrorCode::Busy:
            return "Busy";
        case ErrorCode::Failed:
            return "Failed";
        case ErrorCode::CoordinatorUnavailable:
            return "CoordinatorUnavailable";
        case ErrorCode::NoSlot:
            return "NoSlot";
    }
    return "Failed";
}

}  // namespace kexecd
