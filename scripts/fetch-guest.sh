#!/usr/bin/env bash
# Fetch a guest architecture's artifacts from Debian (trixie) into the cache and build its test
# initramfs. Uses a private apt configuration per architecture under the cache: the machine's
# /etc/apt sources, state and package database are never touched.
#
# riscv64 (the default), in ${VESSEL_CACHE:-$HOME/.cache/vessel}/riscv64/:
#   Image              the kernel (flat RISC-V Image with EFI stub, from boot/vmlinux-*)
#   fw_dynamic.bin     OpenSBI generic platform firmware, dynamic-info flavour
#   fw_jump.bin        OpenSBI generic platform firmware, jump flavour
#   initramfs.cpio.gz  busybox + virtio modules, built by scripts/mkinitramfs.py
#   modules/           the kernel's module tree (usr/lib/modules/<version>)
#   busybox, config, kernel-version   kept for rebuilding the initramfs
#   VERSION            stamp: the packages and the initramfs builder used; a later
#                      run with everything present does nothing (--force refetches)
#   u-boot/u-boot.bin  U-Boot for QEMU's virt machine in S-mode (u-boot-qemu's
#                      qemu-riscv64_smode), the default boot loader of `vessel run` without
#                      --kernel; its own private apt state in u-boot/apt, stamp u-boot/VERSION
# with private apt state in $cache/apt and the .debs in $cache/debs.
#
# --x86: x86_64 (Debian amd64 packages, same suite), in .../x86_64/:
#   bzImage            linux-image-cloud-amd64 resolved to linux-image-*-cloud-amd64 (boot/vmlinuz-*)
#   initramfs.cpio.gz  busybox-static:amd64 + the virtio-pci modules, and button and evdev
#                      for the ACPI power button (mkinitramfs.py)
#   modules/, busybox, config, kernel-version, VERSION   as for riscv64
# with private apt state in $cache/apt-amd64 and the .debs in $cache/debs-amd64.
#
# Usage: scripts/fetch-guest.sh [--x86] [--force]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VESSEL_CACHE:-$HOME/.cache/vessel}
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

# --- what each architecture is made of ---
if [[ $x86 == 1 ]]; then
    arch=x86_64
    debarch=amd64
    apt_dir=$cache/apt-amd64
    deb_dir=$cache/debs-amd64
    meta=linux-image-cloud-amd64            # a metapackage naming the real kernel package
    kernel_re='linux-image-[0-9][^ ]*-cloud-amd64'
    kernel_glob='linux-image-[0-9]*-cloud-amd64_*_amd64.deb'
    extra_pkgs=(busybox-static:amd64)
    extra_globs=('busybox-static_*_amd64.deb')
    kernel_in_deb=vmlinuz kernel_out=bzImage
    magic_off=514 magic_len=4 magic=HdrS   # a bzImage's setup header at 0x202
    firmware=()
    initramfs_args=(--arch x86_64 --no-default-modules)
    for m in virtio_pci virtio_blk virtio_net virtio_rng virtio_balloon virtio_console button evdev; do
        initramfs_args+=(--module "$m")
    done
else
    arch=riscv64
    debarch=riscv64
    apt_dir=$cache/apt
    deb_dir=$cache/debs
    meta=linux-image-riscv64
    kernel_re='linux-image-[0-9][^ ]*-riscv64'
    kernel_glob='linux-image-[0-9]*-riscv64_*_riscv64.deb'
    extra_pkgs=(busybox-static:riscv64 opensbi)
    extra_globs=('busybox-static_*_riscv64.deb' 'opensbi_*_all.deb')
    kernel_in_deb=vmlinux kernel_out=Image
    magic_off=56 magic_len=3 magic=RSC     # a RISC-V Image's "RSC\x05" at offset 56
    firmware=(usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
        usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin)
    initramfs_args=()
fi
out=$cache/$arch
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::State=$apt_dir/state"
    -o "Dir::State::status=$apt_dir/state/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=$debarch"
    -o "APT::Architectures::=$debarch"
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

mkdir -p "$apt_dir/etc" "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$deb_dir" "$out"
touch "$apt_dir/state/status"
echo "deb [arch=$debarch signed-by=$keyring] $mirror $suite main" >"$apt_dir/etc/sources.list"

# The initramfs builder and its options: a change to either rebuilds the initramfs only.
builder_sum="$(sha256sum "$here/mkinitramfs.py" | cut -d' ' -f1)"
[[ ${#initramfs_args[@]} -eq 0 ]] || builder_sum+=" $(echo "${initramfs_args[*]}" | sha256sum | cut -d' ' -f1)"
build_initramfs() {
    say "building the $arch initramfs for $(cat "$out/kernel-version")"
    python3 "$here/mkinitramfs.py" --busybox "$out/busybox" --modules-dir "$out/modules" \
        "${initramfs_args[@]}" --output "$out/initramfs.cpio.gz" || die "mkinitramfs.py failed ($arch)"
}

# riscv64's boot loader, for booting disk images as a machine would (`vessel run` without
# --kernel): Debian's u-boot-qemu (Architecture: all) gives qemu-riscv64_smode/u-boot.bin,
# OpenSBI's S-mode payload. Kept apart from the kernel's packages in $out/u-boot/ with its own
# private apt state (u-boot/apt) and stamp (u-boot/VERSION), so that fetching it never touches
# the artifacts above; nothing happens when the stamp is there (--force refetches it too).
fetch_uboot() {
    local ub=$out/u-boot deb stage
    local ub_apt=(
        -o "Dir::Etc::SourceList=$ub/apt/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
        -o "Dir::State=$ub/apt/state" -o "Dir::State::status=$ub/apt/state/status"
        -o "Dir::Cache=$ub/apt/cache" -o "APT::Architecture=$debarch"
        -o "APT::Architectures::=$debarch" -o "APT::Sandbox::User=root"
        -o "Acquire::Languages=none" -q
    )
    if [[ $force == 0 && -s $ub/u-boot.bin && -f $ub/VERSION ]]; then
        say "up to date: $ub ($(cat "$ub/VERSION"))"
        return 0
    fi
    [[ -r $keyring ]] || die "$keyring missing (apt-get install debian-archive-keyring)"
    mkdir -p "$ub/apt/etc" "$ub/apt/state/lists/partial" "$ub/apt/cache/archives/partial"
    touch "$ub/apt/state/status"
    echo "deb [arch=$debarch signed-by=$keyring] $mirror $suite main" >"$ub/apt/etc/sources.list"
    say "fetching u-boot-qemu ($suite) for booting riscv64 disk images"
    apt-get "${ub_apt[@]}" update || die "apt-get update ($suite $debarch, u-boot) failed"
    rm -f "$ub"/*.deb
    (cd "$ub" && apt-get "${ub_apt[@]}" download u-boot-qemu) || die "apt-get download u-boot-qemu failed"
    deb=$(find "$ub" -maxdepth 1 -name 'u-boot-qemu_*_all.deb' | sort -V | tail -n1)
    [[ -n $deb ]] || die "download finished but no u-boot-qemu .deb in $ub"
    stage=$ub/stage
    rm -rf "$stage" "$ub/VERSION"
    mkdir -p "$stage"
    dpkg-deb -x "$deb" "$stage" || die "dpkg-deb -x $deb failed"
    [[ -s $stage/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin ]] ||
        die "no usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin in $(basename "$deb")"
    cp "$stage/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin" "$ub/u-boot.bin.tmp"
    mv "$ub/u-boot.bin.tmp" "$ub/u-boot.bin"
    rm -rf "$stage" "$deb"
    echo "package $(basename "$deb")" >"$ub/VERSION"
    say "ready: $ub/u-boot.bin"
}
[[ $arch != riscv64 ]] || fetch_uboot

# Up to date: every output present and the stamp written by a complete run. The packages stay
# pinned until --force; a changed initramfs builder only rebuilds the initramfs (from the
# busybox and modules kept in $out, no download).
outputs=("$kernel_out" initramfs.cpio.gz busybox kernel-version)
for f in "${firmware[@]}"; do outputs+=("${f##*/}"); done
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

debs_present() {
    kdeb=$(find_deb "$kernel_glob")
    debs=("$kdeb")
    for g in "${extra_globs[@]}"; do debs+=("$(find_deb "$g")"); done
    for d in "${debs[@]}"; do [[ -n $d ]] || return 1; done
}

if [[ $force == 1 ]] || ! debs_present; then
    [[ -r $keyring ]] || die "$keyring missing (apt-get install debian-archive-keyring)"
    command -v apt-get >/dev/null || die "apt-get not found"
    say "updating private package lists for $suite $debarch (under $apt_dir)"
    apt-get "${apt_opts[@]}" update || die "apt-get update ($suite $debarch) failed"
    kpkg=$(apt-cache "${apt_opts[@]}" depends "$meta" |
        sed -n "s/^ *Depends: \\($kernel_re\\)\$/\\1/p" | sort -V | tail -n1)
    [[ -n $kpkg ]] || die "cannot resolve $meta to a kernel package"
    say "kernel package: $kpkg"
    rm -f "$deb_dir"/*.deb
    (cd "$deb_dir" && apt-get "${apt_opts[@]}" download "$kpkg" "${extra_pkgs[@]}") ||
        die "apt-get download $kpkg ${extra_pkgs[*]} failed"
    debs_present || die "download finished but a .deb is missing in $deb_dir"
else
    say "using downloaded packages in $deb_dir"
fi

stamp=""
for d in "${debs[@]}"; do stamp+="package $(basename "$d")"$'\n'; done
stamp+="mkinitramfs $builder_sum"

say "extracting $debarch packages"
stage=$cache/stage-$arch
rm -rf "$stage" "$out/VERSION"
mkdir -p "$stage"
for d in "${debs[@]}"; do
    dpkg-deb -x "$d" "$stage" || die "dpkg-deb -x $d failed"
done
kfile=$(find "$stage/boot" -maxdepth 1 -name "$kernel_in_deb-*" | sort -V | tail -n1)
[[ -n $kfile ]] || die "no boot/$kernel_in_deb-* in $(basename "$kdeb")"
kver=${kfile##*/"$kernel_in_deb"-}
[[ -d $stage/usr/lib/modules/$kver ]] || die "no usr/lib/modules/$kver in $(basename "$kdeb")"
[[ "$(dd if="$kfile" bs=1 skip="$magic_off" count="$magic_len" status=none)" == "$magic" ]] ||
    die "$kfile is not a $kernel_out (no $magic at offset $magic_off)"
for f in "${firmware[@]}"; do [[ -f $stage/$f ]] || die "no $f in the packages"; done
[[ -x $stage/usr/bin/busybox ]] || die "no usr/bin/busybox in the packages"

cp "$kfile" "$out/$kernel_out.tmp" && mv "$out/$kernel_out.tmp" "$out/$kernel_out"
for f in "${firmware[@]}"; do cp "$stage/$f" "$out/${f##*/}"; done
cp "$stage/usr/bin/busybox" "$out/busybox"
cp "$stage/boot/config-$kver" "$out/config" 2>/dev/null || true
rm -rf "$out/modules"
mv "$stage/usr/lib/modules/$kver" "$out/modules"
echo "$kver" >"$out/kernel-version"
rm -rf "$stage"

build_initramfs

printf '%s\n' "$stamp" >"$out/VERSION"
say "ready: $out (kernel $kver)"
