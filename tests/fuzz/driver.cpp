// Runs a fuzz target on every file of the directories (or files) given, once
// each, as libFuzzer does with -runs=0, so that a build without libFuzzer
// (gcc, the normal test suite) replays the seed corpus and every reproducer
// kept in it. TAP on stdout, one test case per file; the name of the file is
// printed before it runs, so a crash names its input.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        std::error_code ec;
        if (fs::is_directory(argv[i], ec)) {
            for (auto& e : fs::recursive_directory_iterator(argv[i]))
                if (e.is_regular_file()) files.push_back(e.path());
        } else if (fs::is_regular_file(argv[i], ec)) {
            files.push_back(argv[i]);
        } else {
            std::printf("Bail out! %s: not a file or directory\n", argv[i]);
            return 1;
        }
    }
    // An empty corpus would be a test that cannot fail.
    if (files.empty()) {
        std::printf("Bail out! no corpus files given (usage: %s DIR|FILE...)\n", argv[0]);
        return 1;
    }
    std::sort(files.begin(), files.end());
    std::printf("1..%zu\n", files.size());
    int failed = 0;
    for (size_t i = 0; i < files.size(); ++i) {
        std::ifstream in(files[i], std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) {
            std::printf("not ok %zu - %s: cannot read\n", i + 1, files[i].c_str());
            ++failed;
            continue;
        }
        std::printf("# %s (%zu bytes)\n", files[i].c_str(), data.size());
        std::fflush(stdout);
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
        std::printf("ok %zu - %s\n", i + 1, files[i].filename().c_str());
    }
    return failed ? 1 : 0;
}
