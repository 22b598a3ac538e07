#pragma once
// kexec-tools' `kexec`, for kernels without kexec_file_load (Debian's arm64
// kernels): run directly, or, for a load under systemd, in a transient unit.
//
// Why a unit of its own: `kexec -l` reads the memory map (/proc/iomem),
// /proc/kcore and /proc/kallsyms, which show zeros or refuse without
// CAP_SYS_ADMIN, CAP_SYS_RAWIO and CAP_SYSLOG. kexecd's units keep only
// CAP_SYS_BOOT; rather than widen them, the load runs for its few seconds in
// a unit systemd starts (systemd-run), with those capabilities and otherwise
// sandboxed. Transient units cannot be handed file descriptors on systemd
// < 253, so what kexecd opened (memfds: a UKI's sections, a decompressed
// image, concatenated initrds; and the files, as checked) is copied into
// files only root can read, removed once the load is done.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kexec.hpp"

namespace kexecd {

struct KexecToolOptions {
    // The kexec tool: the first of these that is executable.
    std::vector<std::string> tools = {"/usr/sbin/kexec", "/sbin/kexec"};
    // Empty: run the tool directly. Otherwise loads (-l) run through this
    // systemd-run in a transient unit, their files copied into loadDir.
    std::string systemdRun;
    std::string loadDir = "/run/kexecd/load";
};

// The real syscalls, the kexec tool run as `opt` says.
std::unique_ptr<KexecSyscalls> makeLinuxSyscalls(const KexecToolOptions& opt);

// Pure: `args` with every "/proc/self/fd/N", whole or after "=", replaced by
// files.at(N); other arguments as they are.
std::vector<std::string> replaceFdPaths(const std::vector<std::string>& args,
                                        const std::map<int, std::string>& files);

// Pure: the systemd-run command line that runs `tool args` in the transient
// service `unit`, waits for it, passes its output to the caller's
// stdout/stderr (the journal), and exits with its exit status.
std::vector<std::string> transientUnitCommand(const std::string& systemdRun,
                                              const std::string& unit, const std::string& tool,
                                              const std::vector<std::string>& args);

}  // namespace kexecd
