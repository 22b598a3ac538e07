#include "power.hpp"

#include <spdlog/spdlog.h>

namespace kexecd {

void SimulatedPower::rebootKexec(const std::string& version) {
    spdlog::info("simulated reboot: would reboot into {} now (kexec, through logind)", version);
}

void SimulatedPower::rebootFirmware(const std::string& why) {
    spdlog::info("simulated reboot: would reboot through the firmware now ({})", why);
}

}  // namespace kexecd
