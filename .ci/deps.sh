#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks: `deps.sh demo` what the
# build and the demo need, `deps.sh` (or `deps.sh test`) everything the
# whole test suite needs too (system tests, packaging, the qemu guests, and
# clang with libFuzzer and llvm-symbolizer for the fuzzers).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  g++ meson ninja-build pkg-config
  libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev
  libinih-dev libfmt-dev nlohmann-json3-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dbus dbus-daemon dbus-bin systemd util-linux
)
[ "${1:-test}" = demo ] || pkgs+=(
  python3 python3-dbusmock python3-dbus python3-gi
  libxml2-utils libdbus-1-dev polkitd groff-base lintian rpm zsh fish
  qemu-system-x86 mmdebstrap e2fsprogs debian-archive-keyring ovmf fdisk dosfstools mtools
  qemu-system-arm qemu-user-static binfmt-support arch-test
  clang-14 libclang-rt-14-dev llvm-14
  etcd-server openssl
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
