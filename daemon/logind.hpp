#pragma once
#include "power.hpp"

namespace kexecd {

// Reboots through logind's RebootWithFlags with the kexec flag, so that
// shutdown inhibitors and logind's policy still apply to the reboot.
class LogindPower final : public Power {
  public:
    void rebootKexec(const std::string& version, bool checkInhibitors) override;
    // The same call without the kexec flag.
    void rebootFirmware(const std::string& why, bool checkInhibitors) override;
};

}  // namespace kexecd
