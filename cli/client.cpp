#include "client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

extern char** environ;

namespace kexecctl {

namespace {

// Like systemctl: with a terminal and interactive authorization allowed,
// run polkit's text agent so polkit can ask for a password here.
pid_t startPolkitAgent() {
    constexpr const char* agent = "/usr/bin/pkttyagent";
    if (geteuid() == 0 || !isatty(STDIN_FILENO) || access(agent, X_OK) != 0) return -1;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) return -1;
    std::string notify = std::to_string(pipefd[1]), pid = std::to_string(getpid());
    const char* argv[] = {agent,       "--notify-fd", notify.c_str(), "--fallback",
                          "--process", pid.c_str(),   nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], pipefd[1]);
    pid_t child = -1;
    if (posix_spawn(&child, agent, &fa, nullptr, const_cast<char**>(argv), environ) != 0)
        child = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (child > 0) {
        // The agent closes the fd once it has registered with polkit.
        pollfd p{pipefd[0], POLLIN, 0};
        poll(&p, 1, 5000);
    }
    close(pipefd[0]);
    return child;
}

}  // namespace

Client::Client(const Options& opts) : opts_(opts) {
    conn_ = sdbus::createSystemBusConnection();
    // A password prompt can take a while; the default 25 s would cut it off.
    if (opts_.interactive) {
        conn_->setMethodCallTimeout(std::chrono::minutes(5));
        agent_ = startPolkitAgent();
    }
    manager_ = std::make_unique<Manager>(*conn_);
}

Client::~Client() {
    manager_.reset();
    if (agent_ > 0) {
        kill(agent_, SIGTERM);
        waitpid(agent_, nullptr, 0);
    }
}

int reportError(const sdbus::Error& e) {
    const std::string& name = e.getName();
    std::string msg = e.getMessage();
    std::fprintf(stderr, "kexecctl: %s\n", msg.c_str());
    auto hint = [](const char* h) { std::fprintf(stderr, "%s\n", h); };

    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
        name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
        name == "org.freedesktop.DBus.Error.NoServer" ||
        name == "org.freedesktop.DBus.Error.FileNotFound" || name == "sdbus.Error" ||
        name.rfind("System.Error.", 0) == 0) {
        hint("Is kexecd running? Check 'systemctl status kexecd'.");
        return kUnreachable;
    }
    if (name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") {
        hint("Run it as root (sudo), or without --no-ask-password to be asked for a password.");
        return kDenied;
    }
    if (name == "org.freedesktop.DBus.Error.AccessDenied") {
        hint("Run it as root (sudo), or ask your administrator to allow it in polkit.");
        return kDenied;
    }
    if (name == "org.kexecd1.Error.NotFound" || name == "org.kexecd1.Error.NotStaged")
        return kNotFound;
    if (name == "org.kexecd1.Error.InvalidArgument") return kUsage;
    if (name == "org.kexecd1.Error.NoSlot") return kNoSlot;
    if (name == "org.kexecd1.Error.CoordinatorUnavailable") {
        hint("Check the [Fleet] Endpoints= in kexecd.conf and 'journalctl -u kexecd'.");
        return kCoordinatorUnavailable;
    }
    return kFailed;
}

}  // namespace kexecctl
