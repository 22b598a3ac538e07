// Figures for the paths that run on every ListKernels call and every /boot
// change. Run with: meson test -C build --benchmark (or build/bench/kexecd-bench).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "cmdline.hpp"
#include "discovery.hpp"
#include "image.hpp"
#include "sample_tree.hpp"
#include "version.hpp"

namespace fs = std::filesystem;
using namespace kexecd;

namespace {

fs::path makeTree(int kernels) {
    fs::path dir = fs::temp_directory_path() /
                   ("kexecd-bench-" + std::to_string(getpid()) + "-" + std::to_string(kernels));
    fs::remove_all(dir);
    fixture::Tree t(dir);
    for (int i = 0; i < kernels; ++i) t.debianKernel("6.1.0-" + std::to_string(i) + "-amd64");
    return dir;
}

// A /boot as it looks after years of upgrades, scanned with the image cache
// warm (the daemon's steady state).
void BM_ScanWarm(benchmark::State& st) {
    fs::path dir = makeTree(static_cast<int>(st.range(0)));
    Discovery d{Root(dir)};
    d.scan({});
    for (auto _ : st) benchmark::DoNotOptimize(d.scan({}));
    st.counters["kernels"] = static_cast<double>(st.range(0));
    fs::remove_all(dir);
}
BENCHMARK(BM_ScanWarm)->Arg(3)->Arg(50)->Arg(500)->Unit(benchmark::kMicrosecond);

// First scan after start: every header read.
void BM_ScanCold(benchmark::State& st) {
    fs::path dir = makeTree(static_cast<int>(st.range(0)));
    for (auto _ : st) {
        Discovery d{Root(dir)};
        benchmark::DoNotOptimize(d.scan({}));
    }
    fs::remove_all(dir);
}
BENCHMARK(BM_ScanCold)->Arg(3)->Arg(50)->Unit(benchmark::kMicrosecond);

// The worst image to read: a gzip-compressed arm64 kernel with the banner
// deep inside (real ones decompress to ~40 MB). The filler has 4 bits of
// entropy a byte, so it compresses about as well as kernel code does (2-3x),
// not like a run of zeros.
void BM_InspectGzipArm64(benchmark::State& st) {
    fs::path f = fs::temp_directory_path() / ("kexecd-bench-arm64-" + std::to_string(getpid()));
    std::string img = fixture::arm64Image("6.1.0-13-arm64", static_cast<size_t>(st.range(0)) << 20);
    uint32_t x = 2463534242u;
    for (size_t i = 64; i < img.size(); ++i) {
        if (img[i] != '\0') continue;  // keep the header and the banner
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        img[i] = static_cast<char>(0x40 | (x & 0x0f));
    }
    fixture::writeFile(f, fixture::gzip(img));
    for (auto _ : st) {
        auto info = inspectImage(f);
        if (info.version != "6.1.0-13-arm64") st.SkipWithError("wrong version");
    }
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * st.range(0) * (1 << 20) / 2);
    fs::remove(f);
}
BENCHMARK(BM_InspectGzipArm64)->Arg(40)->Unit(benchmark::kMillisecond);

void BM_CompareVersions(benchmark::State& st) {
    for (auto _ : st)
        benchmark::DoNotOptimize(
            compareVersions("6.11.10-300.fc41.x86_64", "6.11.4-301.fc41.x86_64"));
}
BENCHMARK(BM_CompareVersions);

void BM_DeriveCmdline(benchmark::State& st) {
    std::string proc =
        "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=0a1b2c3d ro quiet "
        "console=ttyS0,115200 rd.luks.name=\"crypt root\" splash -- single";
    for (auto _ : st) benchmark::DoNotOptimize(deriveCmdline(proc, {"quiet"}, "mitigations=auto"));
}
BENCHMARK(BM_DeriveCmdline);

}  // namespace

BENCHMARK_MAIN();
