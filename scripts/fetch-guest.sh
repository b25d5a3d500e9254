#!/usr/bin/env bash
# Fetch the riscv64 guest artifacts from Debian trixie into the cache and build
# the default initramfs. Uses a private apt configuration under the cache: the
# machine's /etc/apt sources, state and package database are never touched.
#
# Result, in ${VESSEL_CACHE:-$HOME/.cache/vessel}/riscv64/:
#   Image              the kernel (flat RISC-V Image with EFI stub, from boot/vmlinux-*)
#   fw_dynamic.bin     OpenSBI generic platform firmware, dynamic-info flavour
#   fw_jump.bin        OpenSBI generic platform firmware, jump flavour
#   initramfs.cpio.gz  busybox + virtio modules, built by scripts/mkinitramfs.sh
#   modules/           the kernel's module tree (usr/lib/modules/<version>)
#   busybox, config, kernel-version   kept for rebuilding the initramfs
#   VERSION            stamp: the packages and the initramfs builder used; a later
#                      run with everything present does nothing (--force refetches)
#
# With --x86 it fetches the x86-64 artifacts instead (Debian amd64 packages, same suite),
# with their own private apt state ($cache/apt-amd64) and .debs ($cache/debs-amd64), into
# ${VESSEL_CACHE:-$HOME/.cache/vessel}/x86_64/:
#   bzImage            linux-image-cloud-amd64 resolved to linux-image-*-cloud-amd64 (boot/vmlinuz-*)
#   initramfs.cpio.gz  busybox-static:amd64 + the virtio-pci modules (mkinitramfs.py)
#   modules/, busybox, config, kernel-version, VERSION   as for riscv64
#
# Usage: scripts/fetch-guest.sh [--x86] [--force]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VESSEL_CACHE:-$HOME/.cache/vessel}
apt_dir=$cache/apt
deb_dir=$cache/debs
out=$cache/riscv64
mirror=${VESSEL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${VESSEL_DEBIAN_SUITE:-trixie}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

force=0
x86=0
for arg in "$@"; do
    case "$arg" in
    --force) force=1 ;;
    --x86) x86=1 ;;
    *)
        echo "usage: $0 [--x86] [--force]" >&2
        exit 1
        ;;
    esac
done

say() { echo "fetch-guest: $*"; }
die() {
    echo "fetch-guest: error: $*" >&2
    exit 1
}

apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::State=$apt_dir/state"
    -o "Dir::State::status=$apt_dir/state/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=riscv64"
    -o "APT::Architectures::=riscv64"
    -o "APT::Sandbox::User=root"
    -o "Acquire::Languages=none"
    -q
)

# The newest .deb in $deb_dir whose name matches the glob $1, or nothing.
find_deb() {
    local f
    f=$(find "$deb_dir" -maxdepth 1 -name "$1" -printf '%f\n' 2>/dev/null | sort -V | tail -n1)
    [[ -n $f ]] && echo "$deb_dir/$f"
    return 0
}

if [[ $x86 == 1 ]]; then
    # shellcheck source=scripts/fetch-guest-x86.sh
    . "$here/fetch-guest-x86.sh"
    exit 0
fi

mkdir -p "$apt_dir/etc" "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$deb_dir" "$out"
touch "$apt_dir/state/status"
echo "deb [arch=riscv64 signed-by=$keyring] $mirror $suite main" >"$apt_dir/etc/sources.list"

builder_sum=$(sha256sum "$here/mkinitramfs.py" | cut -d' ' -f1)
build_initramfs() {
    say "building initramfs for $(cat "$out/kernel-version")"
    python3 "$here/mkinitramfs.py" --busybox "$out/busybox" --modules-dir "$out/modules" \
        --output "$out/initramfs.cpio.gz" || die "mkinitramfs.py failed"
}

# Up to date: every output present and the stamp written by a complete run. The
# packages stay pinned until --force; a changed initramfs builder only rebuilds the
# initramfs (from the busybox and modules kept in $out, no download).
outputs=(Image fw_dynamic.bin fw_jump.bin initramfs.cpio.gz busybox kernel-version)
complete=1
for f in "${outputs[@]}"; do [[ -s $out/$f ]] || complete=0; done
[[ -d $out/modules && -f $out/VERSION ]] || complete=0
if [[ $force == 0 && $complete == 1 ]]; then
    if grep -qx "mkinitramfs $builder_sum" "$out/VERSION"; then
        say "up to date: $out ($(cat "$out/kernel-version"))"
        exit 0
    fi
    build_initramfs
    sed -i "s/^mkinitramfs .*/mkinitramfs $builder_sum/" "$out/VERSION"
    say "ready: $out"
    exit 0
fi

kdeb=$(find_deb 'linux-image-[0-9]*-riscv64_*_riscv64.deb')
bdeb=$(find_deb 'busybox-static_*_riscv64.deb')
odeb=$(find_deb 'opensbi_*_all.deb')

if [[ $force == 1 || -z $kdeb || -z $bdeb || -z $odeb ]]; then
    [[ -r $keyring ]] || die "$keyring missing (apt-get install debian-archive-keyring)"
    command -v apt-get >/dev/null || die "apt-get not found"
    say "updating private package lists for $suite riscv64 (under $apt_dir)"
    apt-get "${apt_opts[@]}" update || die "apt-get update ($suite riscv64) failed"
    # linux-image-riscv64 is a metapackage; its dependency names the real kernel package.
    kpkg=$(apt-cache "${apt_opts[@]}" depends linux-image-riscv64 |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-riscv64\)$/\1/p' | sort -V | tail -n1)
    [[ -n $kpkg ]] || die "cannot resolve linux-image-riscv64 to a kernel package"
    say "kernel package: $kpkg"
    rm -f "$deb_dir"/*.deb
    (cd "$deb_dir" && apt-get "${apt_opts[@]}" download "$kpkg" busybox-static:riscv64 opensbi) ||
        die "apt-get download $kpkg busybox-static opensbi failed"
    kdeb=$(find_deb 'linux-image-[0-9]*-riscv64_*_riscv64.deb')
    bdeb=$(find_deb 'busybox-static_*_riscv64.deb')
    odeb=$(find_deb 'opensbi_*_all.deb')
    [[ -n $kdeb && -n $bdeb && -n $odeb ]] || die "download finished but a .deb is missing in $deb_dir"
else
    say "using downloaded packages in $deb_dir"
fi

stamp=$(printf 'kernel %s\nbusybox %s\nopensbi %s\nmkinitramfs %s\n' \
    "$(basename "$kdeb")" "$(basename "$bdeb")" "$(basename "$odeb")" "$builder_sum")

say "extracting packages"
stage=$cache/stage
rm -rf "$stage" "$out/VERSION"
mkdir -p "$stage"
for d in "$kdeb" "$bdeb" "$odeb"; do
    dpkg-deb -x "$d" "$stage" || die "dpkg-deb -x $d failed"
done

vmlinux=$(find "$stage/boot" -maxdepth 1 -name 'vmlinux-*' | sort -V | tail -n1)
[[ -n $vmlinux ]] || die "no boot/vmlinux-* in $(basename "$kdeb")"
kver=${vmlinux##*/vmlinux-}
[[ -d $stage/usr/lib/modules/$kver ]] || die "no usr/lib/modules/$kver in $(basename "$kdeb")"
# A RISC-V Image carries "RISCV\0\0\0" at offset 48 and "RSC\x05" at offset 56.
[[ "$(dd if="$vmlinux" bs=1 skip=56 count=3 status=none)" == RSC ]] ||
    die "$vmlinux is not a RISC-V Image (no RSC magic at offset 56)"
sbi=$stage/usr/lib/riscv64-linux-gnu/opensbi/generic
[[ -f $sbi/fw_dynamic.bin && -f $sbi/fw_jump.bin ]] || die "no fw_dynamic.bin/fw_jump.bin in $sbi"
[[ -x $stage/usr/bin/busybox ]] || die "no usr/bin/busybox in $(basename "$bdeb")"

cp "$vmlinux" "$out/Image.tmp" && mv "$out/Image.tmp" "$out/Image"
cp "$sbi/fw_dynamic.bin" "$out/fw_dynamic.bin"
cp "$sbi/fw_jump.bin" "$out/fw_jump.bin"
cp "$stage/usr/bin/busybox" "$out/busybox"
cp "$stage/boot/config-$kver" "$out/config" 2>/dev/null || true
rm -rf "$out/modules"
mv "$stage/usr/lib/modules/$kver" "$out/modules"
echo "$kver" >"$out/kernel-version"
rm -rf "$stage"

build_initramfs

printf '%s\n' "$stamp" >"$out/VERSION"
say "ready: $out (kernel $kver)"
