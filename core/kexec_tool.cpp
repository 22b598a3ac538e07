#include "kexec_tool.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "error.hpp"
#include "log.hpp"
#include "unique_fd.hpp"

extern char** environ;

namespace kexecd {

namespace {

constexpr std::string_view kFdPrefix = "/proc/self/fd/";

// Runs `argv` with `keepFds` inherited (dup2 onto itself clears
// close-on-exec, so the program can open /proc/self/fd/N) and the caller's
// stdio; returns its exit status, or -errno when it cannot be started.
int spawnAndWait(const std::vector<std::string>& argv, const std::vector<int>& keepFds) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int fd : keepFds) posix_spawn_file_actions_adddup2(&fa, fd, fd);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = 0;
    int err = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) return -err;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The copies a transient unit reads, removed whatever happens.
class LoadFiles {
  public:
    explicit LoadFiles(std::string dir) : dir_(std::move(dir)) {}
    ~LoadFiles() {
        for (auto& [fd, path] : files_) ::unlink(path.c_str());
    }
    LoadFiles(const LoadFiles&) = delete;
    LoadFiles& operator=(const LoadFiles&) = delete;

    // Copies what `fd` holds, from its start, into a new file; throws
    // Error(KexecFailed).
    void add(int fd, const std::string& name) {
        if (::mkdir(dir_.c_str(), 0700) < 0 && errno != EEXIST) fail("cannot create " + dir_);
        std::string path = dir_ + "/" + name;
        UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!out) fail("cannot create " + path);
        files_[fd] = path;
        struct stat st {};
        if (::fstat(fd, &st) < 0) fail("cannot read what is to be loaded");
        if (int rc = copyRange(out.get(), fd, 0, static_cast<uint64_t>(st.st_size)); rc < 0) {
            errno = -rc;
            fail("cannot copy what is to be loaded into " + path);
        }
    }
    const std::map<int, std::string>& files() const { return files_; }

  private:
    [[noreturn]] static void fail(const std::string& what) {
        throw Error(ErrorCode::KexecFailed, what + ": " + errnoText(errno));
    }
    std::string dir_;
    std::map<int, std::string> files_;
};

class LinuxSyscalls final : public KexecSyscalls {
  public:
    explicit LinuxSyscalls(KexecToolOptions opt) : opt_(std::move(opt)) {}

    int kexecFileLoad(int kernelFd, int initrdFd, const std::string& cmdline,
                      unsigned long flags) override {
#ifdef SYS_kexec_file_load
        long rc = ::syscall(SYS_kexec_file_load, kernelFd, initrdFd,
                            cmdline.empty() && (flags & kKexecFileUnload) ? 0 : cmdline.size() + 1,
                            cmdline.c_str(), flags);
        return rc < 0 ? -errno : 0;
#else
        (void)kernelFd, (void)initrdFd, (void)cmdline, (void)flags;
        return -ENOSYS;
#endif
    }

    int runKexecTool(const std::vector<std::string>& args,
                     const std::vector<int>& keepFds) override {
        std::string tool;
        for (auto& cand : opt_.tools)
            if (::access(cand.c_str(), X_OK) == 0) {
                tool = cand;
                break;
            }
        if (tool.empty()) return -ENOENT;
        // Unloading needs CAP_SYS_BOOT only, which kexecd has.
        bool load = !args.empty() && args[0] == "-l";
        if (!load || opt_.systemdRun.empty()) {
            std::vector<std::string> argv{tool};
            argv.insert(argv.end(), args.begin(), args.end());
            return spawnAndWait(argv, keepFds);
        }

        static std::atomic<unsigned> serial{0};
        const std::string id = std::to_string(::getpid()) + "-" + std::to_string(++serial);
        const std::string unit = "kexecd-load-" + id + ".service";
        LoadFiles copies(opt_.loadDir);
        for (int fd : keepFds) copies.add(fd, id + "-" + std::to_string(fd));
        log::info("this kernel has no kexec_file_load: running kexec -l in the transient unit {}",
                  unit);
        return spawnAndWait(
            transientUnitCommand(opt_.systemdRun, unit, tool, replaceFdPaths(args, copies.files())),
            {});
    }

  private:
    KexecToolOptions opt_;
};

}  // namespace

std::unique_ptr<KexecSyscalls> makeLinuxSyscalls(const KexecToolOptions& opt) {
    return std::make_unique<LinuxSyscalls>(opt);
}

std::vector<std::string> replaceFdPaths(const std::vector<std::string>& args,
                                        const std::map<int, std::string>& files) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        size_t at = a.rfind(kFdPrefix);
        bool whole = at == 0, afterEq = at != std::string::npos && at > 0 && a[at - 1] == '=';
        int fd = -1;
        if (whole || afterEq) {
            std::string num = a.substr(at + kFdPrefix.size());
            if (!num.empty() && num.find_first_not_of("0123456789") == std::string::npos &&
                num.size() < 10)
                fd = std::stoi(num);
        }
        auto it = files.find(fd);
        out.push_back(it == files.end() ? a : a.substr(0, at) + it->second);
    }
    return out;
}

std::vector<std::string> transientUnitCommand(const std::string& systemdRun,
                                              const std::string& unit, const std::string& tool,
                                              const std::vector<std::string>& args) {
    std::vector<std::string> cmd = {
        systemdRun,
        "--quiet",
        "--wait",
        "--pipe",
        "--collect",
        "--unit=" + unit,
        "--description=kexec -l for kexecd (this kernel has no kexec_file_load)",
        // Also at shutdown (kexecd-verify.service), when a unit with the
        // default dependencies could not start any more.
        "--property=DefaultDependencies=no",
        // What kexec-tools reads: the memory map (CAP_SYS_ADMIN), /proc/kcore
        // (CAP_SYS_RAWIO), /proc/kallsyms (CAP_SYSLOG); and the load itself.
        "--property=CapabilityBoundingSet=CAP_SYS_BOOT CAP_SYS_ADMIN CAP_SYS_RAWIO CAP_SYSLOG",
        "--property=NoNewPrivileges=yes",
        "--property=ProtectSystem=strict",
        // Not PrivateTmp=: it needs /tmp and /var/tmp mounted, which they
        // may not be any more at shutdown. The whole system is read-only.
        "--property=ProtectHome=yes",
        "--property=PrivateNetwork=yes",
        "--property=RestrictAddressFamilies=AF_UNIX",
        "--property=RestrictNamespaces=yes",
        "--property=RestrictRealtime=yes",
        "--property=RestrictSUIDSGID=yes",
        "--property=LockPersonality=yes",
        "--property=MemoryDenyWriteExecute=yes",
        "--property=ProtectKernelModules=yes",
        "--property=ProtectControlGroups=yes",
        "--property=ProtectHostname=yes",
        "--property=ProtectClock=yes",
        "--property=SystemCallArchitectures=native",
        "--property=SystemCallFilter=@system-service kexec_load",
        "--property=SystemCallErrorNumber=EPERM",
        "--property=RuntimeMaxSec=120",
        "--",
        tool,
    };
    cmd.insert(cmd.end(), args.begin(), args.end());
    return cmd;
}

}  // namespace kexecd
