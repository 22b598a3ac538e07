# Sourced by scripts/demo and scripts/test with "demo" or "test": installs
# what is missing and builds into build/ (warnings are errors).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$top/.ci/deps.sh" "$1"
if [ ! -f "$top/build/build.ninja" ]; then
    meson setup "$top/build" "$top" --werror -Dtests=enabled
fi
ninja -C "$top/build"
