#pragma once
// How kexecctl writes: JSON modes, colours and the pager, as systemd's tools
// do (--json=pretty|short|off, NO_COLOR, SYSTEMD_COLORS, SYSTEMD_PAGER,
// --no-pager, --no-legend).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "text.hpp"

namespace kexecctl {

enum class JsonMode { Off, Pretty, Short };

// "pretty", "short", "off"; nullopt for anything else.
std::optional<JsonMode> parseJsonMode(const std::string& s);

void printJson(const nlohmann::json& j, JsonMode mode);

using kexecd::colorsWanted;

enum class Color { Green, Yellow, Red, Bold, Dim };

class Output {
  public:
    static Output& get();
    void setColors(bool on) { colors_ = on; }
    bool colors() const { return colors_; }
    // s wrapped in the colour's escape sequence, or s as it is.
    std::string paint(Color c, const std::string& s) const;

    // Starts the pager (SYSTEMD_PAGER, then PAGER, then less) when stdout is a
    // terminal and neither --no-pager nor a pager of "cat" or "" says no. The
    // pager is waited for at exit.
    void startPager();
    void endPager();

  private:
    bool colors_ = false;
    int pagerPid_ = -1;
};

}  // namespace kexecctl
