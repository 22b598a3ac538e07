#pragma once
#include <string_view>

namespace kexecd {

// Orders kernel release strings the way people read them: runs of digits
// compare as numbers (6.12 > 6.9, 6.1.0-13 > 6.1.0-9), other runs compare
// byte-wise, and '~' sorts before everything, even the end of the string
// (6.12~rc1 < 6.12), as in Debian and RPM version ordering.
// Returns <0, 0 or >0.
int compareVersions(std::string_view a, std::string_view b);

// True when s starts like a kernel release ("6.1.0-13-amd64", "5.14.0-...").
bool looksLikeVersion(std::string_view s);

}  // namespace kexecd
