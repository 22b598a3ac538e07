#pragma once
// Rebooting, behind an interface: logind in the daemon, a log line under
// --simulate, a recorder in the tests.
#include <string>

namespace kexecd {

class Power {
  public:
    virtual ~Power() = default;
    // Starts a reboot through the loaded kexec kernel. Throws Error on
    // failure. `checkInhibitors` false overrides inhibitor locks, as
    // `systemctl -i` does.
    virtual void rebootKexec(const std::string& version, bool checkInhibitors) = 0;
    // Starts a reboot through the firmware; `why` is for messages. Throws
    // Error when the reboot was not started.
    virtual void rebootFirmware(const std::string& why, bool checkInhibitors) = 0;
    // Nothing really reboots: the journal says "simulated reboot".
    virtual bool simulated() const { return false; }
};

// --simulate: says what would happen and does nothing.
class SimulatedPower final : public Power {
  public:
    void rebootKexec(const std::string& version, bool checkInhibitors) override;
    void rebootFirmware(const std::string& why, bool checkInhibitors) override;
    bool simulated() const override { return true; }
};

}  // namespace kexecd
