#include "power.hpp"

#include <spdlog/spdlog.h>

namespace kexecd {

void SimulatedPower::rebootKexec(const std::string& version) {
    spdlog::info("simulated reboot: would reboot into {} now (kexec, through logind)", version);
}

}  // namespace kexecd
