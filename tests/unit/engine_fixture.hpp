#pragma once
// The fixture of the engine tests: a fake kernel (a GMock KexecBackend whose
// default actions keep a "loaded" flag) on a fake root with two Debian
// kernels. Shared by the engine test files, one per topic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine.hpp"
#include "error.hpp"
#include "log.hpp"
#include "sample_tree.hpp"
#include "temp_dir.hpp"

namespace kexecd::test {

namespace fs = std::filesystem;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::StartsWith;
using ::testing::StrictMock;

inline const bool kQuiet = [] {
    log::setLevel(log::Level::Error);
    return true;
}();

inline const std::string kOld = "6.1.0-13-amd64";
inline const std::string kNew = "6.12.12+deb12-amd64";
inline const std::string kNewer = "6.13.1-amd64";

class MockBackend : public KexecBackend {
  public:
    MOCK_METHOD(void, load, (const LoadRequest& req), (override));
    MOCK_METHOD(void, unload, (), (override));
    MOCK_METHOD(bool, loaded, (), (override));
    MOCK_METHOD(bool, simulated, (), (const, override));
};

class MockPower : public Power {
  public:
    MOCK_METHOD(void, rebootKexec, (const std::string& version, bool checkInhibitors), (override));
    MOCK_METHOD(void, rebootFirmware, (const std::string& why, bool checkInhibitors), (override));
};

template <typename F>
Error errorOf(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no Error thrown";
    return Error(ErrorCode::Failed, "(none)");
}

class EngineTest : public ::testing::Test {
  protected:
    EngineTest() : tree_(dir_.path()) {
        (void)kQuiet;
        tree_.debianKernel(kOld);
        tree_.debianKernel(kNew);
        tree_.cmdline("BOOT_IMAGE=/boot/vmlinuz-" + kOld + " root=UUID=0a1b2c3d ro quiet");
        tree_.osrelease(kOld);

        ON_CALL(backend_, load(_)).WillByDefault([this](const LoadRequest& r) {
            if (failLoad_) throw *failLoad_;
            loads_.push_back(r);
            loaded_ = true;
        });
        ON_CALL(backend_, unload()).WillByDefault([this] {
            ++unloads_;
            loaded_ = false;
        });
        ON_CALL(backend_, loaded()).WillByDefault([this] { return loaded_; });
        ON_CALL(backend_, simulated()).WillByDefault([] { return false; });
    }

    std::unique_ptr<Engine> engine(Config c = {}) {
        return std::make_unique<Engine>(Root(dir_.path()), std::move(c), backend_);
    }
    static Config noAutoStage() {
        Config c;
        c.autoStage = false;
        return c;
    }

    fs::path host(const std::string& abs) const { return tree_.path(abs); }
    fs::path stateFile() const { return tree_.path("/run/kexecd/state.json"); }
    std::optional<Staged> state() const { return loadState(stateFile()); }
    std::string lastKernel() const {
        return loads_.empty() ? "" : loads_.back().kernel.path.string();
    }
    std::string image(const std::string& v) const { return host("/boot/vmlinuz-" + v).string(); }
    void rebuildInitrd(const std::string& v) {
        tree_.file("/boot/initrd.img-" + v, "rebuilt initrd for " + v + " with new modules\n");
    }
    void removeKernel(const std::string& v) {
        fs::remove(host("/boot/vmlinuz-" + v));
        fs::remove(host("/boot/initrd.img-" + v));
        fs::remove_all(host("/lib/modules/" + v));
    }

    test::TempDir dir_;
    fixture::Tree tree_;
    NiceMock<MockBackend> backend_;
    bool loaded_ = false;
    int unloads_ = 0;
    std::vector<LoadRequest> loads_;
    std::optional<Error> failLoad_;
};

}  // namespace kexecd::test
