// EFI variables as efivarfs shows them. What comes out as a string is valid
// UTF-8: it goes to the journal and over D-Bus.
#include <cstdint>
#include <string>

#include "efivars.hpp"
#include "fuzz_check.hpp"
#include "text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view file(reinterpret_cast<const char*>(data), size);
    for (size_t n : {1, 2, 4, 8}) {
        auto v = kexecd::efiVarUint(file, n);
        FUZZ_CHECK(!v || size == 4 + n);
    }
    if (auto s = kexecd::efiVarString(file)) FUZZ_CHECK(kexecd::isValidUtf8(*s));
    return 0;
}
