#!/usr/bin/env bash
# Builds the Debian package (README): the release build of the window, the screen pop
# window and the bundled plugins, with the desktop files, icons, udev rule, example
# policy and browser add-on (host-ui/Cargo.toml, [package.metadata.deb]). Depends are
# computed by dpkg-shlibdeps from the ELF files. Prints the .deb's path.
#
#   UCDESK_VENDOR_PUBKEY=<64 hex> ./package.sh   a release that trusts the vendor's key
#   ./package.sh --dev                           a development package (the repository's
#                                                key; license show says so)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ucdesk-target}"
if [ "${1:-}" = "--dev" ]; then
  export UCDESK_DEV_BUILD=1
elif [ -z "${UCDESK_VENDOR_PUBKEY:-}" ]; then
  echo "package.sh: set UCDESK_VENDOR_PUBKEY to the vendor's public key, or pass --dev" >&2
  exit 2
fi
tests/lab/debian-packages.sh build
# The version the package metadata was written for (its flags and asset rules).
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb 3.8.0" ]; then
  cargo install cargo-deb --locked --version 3.8.0
fi
cargo deb -p ucdesk
