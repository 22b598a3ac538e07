#include "output.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kexecctl {

std::optional<JsonMode> parseJsonMode(const std::string& s) {
    if (s == "pretty") return JsonMode::Pretty;
    if (s == "short") return JsonMode::Short;
    if (s == "off") return JsonMode::Off;
    return std::nullopt;
}

void printJson(const nlohmann::json& j, JsonMode mode) {
    // Strings from files may hold bytes that are not UTF-8: replace them
    // rather than throw in the middle of the output.
    auto text = j.dump(mode == JsonMode::Short ? -1 : 2, ' ', false,
                       nlohmann::json::error_handler_t::replace);
    std::printf("%s\n", text.c_str());
}

namespace {}  // namespace

Output& Output::get() {
    static Output out;
    return out;
}

std::string Output::paint(Color c, const std::string& s) const {
    if (!colors_) return s;
    const char* on = "";
    switch (c) {
        case Color::Green:
            on = "\x1b[0;32m";
            break;
        case Color::Yellow:
            on = "\x1b[0;33m";
            break;
        case Color::Red:
            on = "\x1b[0;31m";
            break;
        case Color::Bold:
            on = "\x1b[1m";
            break;
        case Color::Dim:
            on = "\x1b[0;2m";
            break;
    }
    return on + s + "\x1b[0m";
}

void Output::startPager() {
    if (pagerPid_ > 0 || !isatty(STDOUT_FILENO)) return;
    const char* pager = std::getenv("SYSTEMD_PAGER");
    if (!pager) pager = std::getenv("PAGER");
    if (pager && (!*pager || !std::strcmp(pager, "cat"))) return;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return;
    std::fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (child == 0) {
        dup2(fds[0], STDIN_FILENO);
        // less: quit when it fits one screen, keep colours, no init sequence.
        setenv("LESS", "FRSXMK", 0);
        if (pager) execl("/bin/sh", "sh", "-c", pager, nullptr);
        execlp("less", "less", nullptr);
        execlp("more", "more", nullptr);
        // No pager at all: copy through, so nothing is lost.
        execlp("cat", "cat", nullptr);
        _exit(127);
    }
    close(fds[0]);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    // The user quitting the pager early is not an error of ours.
    signal(SIGPIPE, SIG_IGN);
    pagerPid_ = child;
    std::atexit([] { Output::get().endPager(); });
}

void Output::endPager() {
    if (pagerPid_ <= 0) return;
    std::fflush(stdout);
    close(STDOUT_FILENO);
    waitpid(pagerPid_, nullptr, 0);
    pagerPid_ = -1;
}

}  // namespace kexecctl
