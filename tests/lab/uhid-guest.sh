#!/usr/bin/env bash
# Boots a real Linux kernel (Debian's cloud kernel, in QEMU's software emulation: this
# machine has no /dev/uhid, no USB and no working KVM) with a busybox initramfs, loads
# the HID modules and uhid, and runs one program inside it; its console output is
# printed here. Used by tests/headsets_uhid.rs to test the headsets plugin's real
# hidapi path against devices created through /dev/uhid.
#
#   tests/lab/uhid-guest.sh GUEST_BINARY PLUGIN_SO FIXTURES_DIR
#
# The kernel and busybox-static packages are fetched once with apt-get download into the
# lab cache (about 28 MB) and unpacked there, so the machine's own packages are left
# alone; QEMU comes from Debian's packages (tests/lab/debian-packages.sh test).
set -euo pipefail
guest=$1 plugin=$2 fixtures=$3
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ucdesk-lab/guest-kernel"
mkdir -p "$cache"

# Fetches and unpacks a Debian package into the cache, once.
fetch() { # NAME DIR
  local name=$1 dir=$2
  [ -d "$cache/$dir" ] && return 0
  if ! (cd "$cache" && apt-get download "$name" >/dev/null 2>&1); then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    (cd "$cache" && apt-get download "$name" >/dev/null)
  fi
  dpkg-deb -x "$(ls "$cache"/"${name}"_*.deb | head -1)" "$cache/$dir.tmp" && mv "$cache/$dir.tmp" "$cache/$dir"
}
# The kernel: whatever Debian's cloud-kernel metapackage points at today.
kernel_pkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'; }
pkg=$(kernel_pkg)
if [ -z "$pkg" ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && pkg=$(kernel_pkg)
fi
[ -n "$pkg" ] || { echo "no cloud kernel package in the apt lists" >&2; exit 1; }
fetch "$pkg" kernel
fetch busybox-static busybox
vmlinuz=$(ls "$cache"/kernel/boot/vmlinuz-* | head -1)
modules=$(ls -d "$cache"/kernel/lib/modules/* | head -1)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mod,guest,fixtures}
cp "$cache/busybox/bin/busybox" "$root/bin/busybox"
for m in hid hid-generic hid-jabra hid-plantronics uhid; do
  cp "$(find "$modules" -name "$m.ko*" | head -1)" "$root/mod/"
done
cp "$guest" "$root/guest/uhid_guest"
cp "$plugin" "$root/guest/"
cp "$fixtures"/*.hex "$root/fixtures/"
# The programs are built on this machine against its glibc: bring their libraries.
for f in "$guest" "$plugin"; do
  ldd "$f" | awk '/=> \// {print $3} /^\s*\/lib/ {print $1}' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
# The dynamic loader's canonical path.
mkdir -p "$root/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in hid hid-generic hid-jabra hid-plantronics uhid; do
  insmod /mod/$m.ko* || echo "guest: insmod $m failed"
done
echo "guest: kernel $(uname -r), uhid: $(ls /dev/uhid 2>&1)"
TMPDIR=/tmp /guest/uhid_guest /guest/$(cd /guest && ls *.so) /fixtures
echo "guest: hidraw nodes: $(ls /dev/hidraw* 2>&1 | tr '\n' ' ')"
dmesg | grep -i -E 'hid|uhid' | tail -40 | sed 's/^/guest: dmesg: /'
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | "$cache/busybox/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"

# 2 cores of software emulation: about 25 s to boot and run.
timeout 240 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 768 -nographic -no-reboot \
  -nic none -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 rdinit=/init" </dev/null
