#!/usr/bin/env bash
# Installs every build and test dependency on a fresh Debian 12 machine.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  g++ meson ninja-build pkg-config
  libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev
  libinih-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dbus dbus-daemon python3 python3-dbusmock python3-dbus python3-gi
  libxml2-utils zlib1g-dev util-linux systemd
  dbus-bin libdbus-1-dev polkitd groff-base lintian
  qemu-system-x86 mmdebstrap e2fsprogs debian-archive-keyring
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
