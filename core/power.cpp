#include "power.hpp"

#include "log.hpp"

namespace kexecd {

void SimulatedPower::rebootKexec(const std::string& version, bool checkInhibitors) {
    log::info("simulated reboot: would reboot into {} now (kexec, through logind{})", version,
              checkInhibitors ? "" : ", overriding inhibitors");
}

void SimulatedPower::rebootFirmware(const std::string& why, bool checkInhibitors) {
    log::info("simulated reboot: would reboot through the firmware now ({}{})", why,
              checkInhibitors ? "" : ", overriding inhibitors");
}

}  // namespace kexecd
