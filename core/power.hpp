#pragma once
// Rebooting, behind an interface: logind in the daemon, a log line under
// --simulate, a recorder in the tests.
#include <string>

namespace kexecd {

class Power {
  public:
    virtual ~Power() = default;
    // Starts a reboot through the loaded kexec kernel. Throws Error on failure.
    virtual void rebootKexec(const std::string& version) = 0;
    // Starts a reboot through the firmware (nothing is loaded any more);
    // `why` is for the log. Throws Error on failure.
    virtual void rebootFirmware(const std::string& why) = 0;
};

}  // namespace kexecd

namespace kexecd {

// --simulate: says what would happen and does nothing.
class SimulatedPower final : public Power {
  public:
    void rebootKexec(const std::string& version) override;
    void rebootFirmware(const std::string& why) override;
};

}  // namespace kexecd
