# Sourced by scripts/fetch-guest.sh --x86 (uses its say, die, find_deb, cache, mirror, suite,
# keyring, force, here): Debian's linux-image-cloud-amd64 and busybox-static:amd64 into
# $cache/x86_64/, and an initramfs with the virtio-pci modules. Own apt state and .debs, so
# the riscv64 fetch's lists and packages stay untouched.
apt_dir=$cache/apt-amd64
deb_dir=$cache/debs-amd64
out=$cache/x86_64
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::State=$apt_dir/state"
    -o "Dir::State::status=$apt_dir/state/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=amd64"
    -o "APT::Architectures::=amd64"
    -o "APT::Sandbox::User=root"
    -o "Acquire::Languages=none"
    -q
)
x86_modules=(virtio_pci virtio_blk virtio_net virtio_rng virtio_balloon virtio_console)

mkdir -p "$apt_dir/etc" "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$deb_dir" "$out"
touch "$apt_dir/state/status"
echo "deb [arch=amd64 signed-by=$keyring] $mirror $suite main" >"$apt_dir/etc/sources.list"

builder_sum=$(sha256sum "$here/mkinitramfs.py" | cut -d' ' -f1)
modules_sum=$(echo "${x86_modules[*]}" | sha256sum | cut -d' ' -f1)
build_initramfs_x86() {
    local m=()
    for x in "${x86_modules[@]}"; do m+=(--module "$x"); done
    say "building x86_64 initramfs for $(cat "$out/kernel-version")"
    python3 "$here/mkinitramfs.py" --busybox "$out/busybox" --modules-dir "$out/modules" \
        --arch x86_64 --no-default-modules "${m[@]}" --output "$out/initramfs.cpio.gz" ||
        die "mkinitramfs.py failed (x86_64)"
}

outputs=(bzImage initramfs.cpio.gz busybox kernel-version)
complete=1
for f in "${outputs[@]}"; do [[ -s $out/$f ]] || complete=0; done
[[ -d $out/modules && -f $out/VERSION ]] || complete=0
if [[ $force == 0 && $complete == 1 ]]; then
    if grep -qx "mkinitramfs $builder_sum $modules_sum" "$out/VERSION"; then
        say "up to date: $out ($(cat "$out/kernel-version"))"
        return 0
    fi
    build_initramfs_x86
    sed -i "s/^mkinitramfs .*/mkinitramfs $builder_sum $modules_sum/" "$out/VERSION"
    say "ready: $out"
    return 0
fi

kdeb=$(find_deb 'linux-image-[0-9]*-cloud-amd64_*_amd64.deb')
bdeb=$(find_deb 'busybox-static_*_amd64.deb')
if [[ $force == 1 || -z $kdeb || -z $bdeb ]]; then
    [[ -r $keyring ]] || die "$keyring missing (apt-get install debian-archive-keyring)"
    command -v apt-get >/dev/null || die "apt-get not found"
    say "updating private package lists for $suite amd64 (under $apt_dir)"
    apt-get "${apt_opts[@]}" update || die "apt-get update ($suite amd64) failed"
    # linux-image-cloud-amd64 is a metapackage; its dependency names the real kernel package.
    kpkg=$(apt-cache "${apt_opts[@]}" depends linux-image-cloud-amd64 |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | sort -V | tail -n1)
    [[ -n $kpkg ]] || die "cannot resolve linux-image-cloud-amd64 to a kernel package"
    say "kernel package: $kpkg"
    rm -f "$deb_dir"/*.deb
    (cd "$deb_dir" && apt-get "${apt_opts[@]}" download "$kpkg" busybox-static:amd64) ||
        die "apt-get download $kpkg busybox-static:amd64 failed"
    kdeb=$(find_deb 'linux-image-[0-9]*-cloud-amd64_*_amd64.deb')
    bdeb=$(find_deb 'busybox-static_*_amd64.deb')
    [[ -n $kdeb && -n $bdeb ]] || die "download finished but a .deb is missing in $deb_dir"
else
    say "using downloaded packages in $deb_dir"
fi

stamp=$(printf 'kernel %s\nbusybox %s\nmkinitramfs %s %s\n' \
    "$(basename "$kdeb")" "$(basename "$bdeb")" "$builder_sum" "$modules_sum")

say "extracting amd64 packages"
stage=$cache/stage-amd64
rm -rf "$stage" "$out/VERSION"
mkdir -p "$stage"
for d in "$kdeb" "$bdeb"; do
    dpkg-deb -x "$d" "$stage" || die "dpkg-deb -x $d failed"
done
vmlinuz=$(find "$stage/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)
[[ -n $vmlinuz ]] || die "no boot/vmlinuz-* in $(basename "$kdeb")"
kver=${vmlinuz##*/vmlinuz-}
[[ -d $stage/usr/lib/modules/$kver ]] || die "no usr/lib/modules/$kver in $(basename "$kdeb")"
# A bzImage carries the setup header magic "HdrS" at offset 0x202.
[[ "$(dd if="$vmlinuz" bs=1 skip=514 count=4 status=none)" == HdrS ]] ||
    die "$vmlinuz is not a bzImage (no HdrS at offset 0x202)"
[[ -x $stage/usr/bin/busybox ]] || die "no usr/bin/busybox in $(basename "$bdeb")"

cp "$vmlinuz" "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
cp "$stage/usr/bin/busybox" "$out/busybox"
cp "$stage/boot/config-$kver" "$out/config" 2>/dev/null || true
rm -rf "$out/modules"
mv "$stage/usr/lib/modules/$kver" "$out/modules"
echo "$kver" >"$out/kernel-version"
rm -rf "$stage"

build_initramfs_x86

printf '%s\n' "$stamp" >"$out/VERSION"
say "ready: $out (kernel $kver)"
