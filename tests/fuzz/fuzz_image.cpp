// Kernel image headers (x86 bzImage, arm64 Image, gzip, EFI zboot), read
// from any file in /boot. The input is the whole file, in a memfd, as
// discovery hands inspectImageFd an open file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_check.hpp"
#include "image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // One memfd for the whole run: creating one per input would cost more
    // than inspecting it.
    static int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, 0) < 0) {
        std::perror("memfd");
        std::abort();
    }
    for (size_t done = 0; done < size;) {
        ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        if (n <= 0) {
            std::perror("pwrite");
            std::abort();
        }
        done += static_cast<size_t>(n);
    }
    kexecd::ImageInfo info = kexecd::inspectImageFd(fd);
    // Discovery takes a readable image for a bootable kernel of that version.
    FUZZ_CHECK(info.ok() == !info.version.empty());
    FUZZ_CHECK(kexecd::formatName(info.format) != nullptr);

    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string banner = kexecd::findBannerVersion(text);
    FUZZ_CHECK(banner.empty() || text.find(banner) != std::string_view::npos);
    return 0;
}
