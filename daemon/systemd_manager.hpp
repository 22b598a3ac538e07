#pragma once
// What kexecd asks of systemd (org.freedesktop.systemd1.Manager) over the
// system bus. Each answer has a neutral value for when systemd is not on the
// bus (a private test bus, a container) or does not answer in time.
#include <cstdint>
#include <string>

namespace kexecd {

// systemd's version (decides what it does with a staged kernel); 0 unknown.
unsigned systemdVersion();

struct LoaderTimes {
    uint64_t firmwareTimestampUsec = 0;  // FirmwareTimestampMonotonic
    uint64_t loaderTimestampUsec = 0;    // LoaderTimestampMonotonic
};
// This boot's firmware and loader timestamps (UEFI only); 0 unknown.
LoaderTimes loaderTimes();

}  // namespace kexecd

namespace kexecd {
// systemd's SystemState ("starting", "running", "degraded", …); "" when
// systemd does not answer. [Fleet] releases the reboot slot on it.
std::string systemState();
}  // namespace kexecd
