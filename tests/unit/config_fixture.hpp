#pragma once
// The fixture the config_*_test.cpp files share: a directory holding
// kexecd.conf and kexecd.conf.d/, and ways to load it that catch what a
// broken loader would do (throw something else, block).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::string_literals;

class ConfigTest : public ::testing::Test {
  protected:
    std::filesystem::path mainFile() const { return dir_ / "kexecd.conf"; }
    void write(const std::string& rel, const std::string& text) {
        fixture::writeFile(dir_ / rel, text);
    }
    Config load() { return loadConfig(mainFile(), &warnings_); }

    // Loading must throw Error(InvalidArgument); returns the message.
    std::string loadError() {
        try {
            load();
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "loadConfig did not throw";
        return "";
    }

    // Loads in a child process that is killed after 5 s, so that a load
    // that blocks (a FIFO opened for reading) fails the test instead of
    // hanging it. Returns the error message (or "") followed by the
    // warnings, each after "\nwarning: ", or "BLOCKED".
    std::string loadErrorWithDeadline() {
        int fds[2];
        EXPECT_EQ(::pipe(fds), 0);
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(fds[0]);
            std::string msg;
            try {
                load();
            } catch (const Error& e) {
                msg = e.what();
            }
            for (auto& w : warnings_) msg += "\nwarning: " + w;
            ssize_t n = ::write(fds[1], msg.data(), msg.size());
            ::_exit(n == static_cast<ssize_t>(msg.size()) ? 0 : 1);
        }
        ::close(fds[1]);
        int status = 0;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (::waitpid(pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                ::close(fds[0]);
                return "BLOCKED";
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
            out.append(buf, static_cast<size_t>(n));
        ::close(fds[0]);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return out;
    }

    // parseConfigText on its own, with a name that is not a path.
    std::string parseError(const std::string& text) {
        Config c;
        try {
            parseConfigText(text, "test.conf", &c, &warnings_);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "parseConfigText did not throw on: " << text;
        return "";
    }
    Config parse(const std::string& text) {
        Config c;
        parseConfigText(text, "test.conf", &c, &warnings_);
        return c;
    }

    test::TempDir dir_;
    std::vector<std::string> warnings_;
};

}  // namespace kexecd
