#!/bin/bash
# Builds a flashable Light Node image: out/image/lightnode-<version>-<arch>.img, its .img.bmap and .img.sha256.
#   deploy/image/build.sh [--arch amd64|arm64] [--board none|generic-efi] [--deb FILE] [--out DIR] [--seq N]
# (`npm run image -- …` runs this). A bookworm root by mmdebstrap (systemd, udev, dbus, ca-certificates,
# systemd-timesyncd and the lightnode .deb, installed through mmdebstrap's file-mirror-automount hook), written
# into a sparse GPT image without mounting anything: sfdisk partitions the file, `mke2fs -d ROOT -E offset=…` writes
# the root partition (label lightnode-root, the arch's Discoverable Partitions root type). A board (boards/NAME.sh)
# adds packages, customizes the root and may add an EFI system partition. Progress on stderr (step, elapsed seconds).
# Needs root and: mmdebstrap, sfdisk (fdisk), mke2fs (e2fsprogs), bmaptool (bmap-tools), sha256sum; a board with an
# ESP also mkfs.vfat (dosfstools) and mcopy/mmd (mtools); a foreign arch qemu-user-static + binfmt-support.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
t0=$SECONDS
step() { printf '[image %4ds] %s\n' $((SECONDS - t0)) "$*" >&2; }
die() { printf 'image: %s\n' "$*" >&2; exit 1; }

arch="$(dpkg --print-architecture)"
board=none
deb=''
outdir="$repo/out/image"
seq=''
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="${2:?--arch needs a value}"; shift 2 ;;
    --board) board="${2:?--board needs a value}"; shift 2 ;;
    --deb) deb="${2:?--deb needs a value}"; shift 2 ;;
    --out) outdir="${2:?--out needs a value}"; shift 2 ;;
    --seq) seq="${2:?--seq needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (usage: build.sh [--arch amd64|arm64] [--board none|generic-efi] [--deb FILE] [--out DIR])" ;;
  esac
done

case "$arch" in
  # Discoverable Partitions Specification (UAPI group, "Partition Types"): root partition type UUIDs
  amd64) root_type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709 ;; # Root Partition (x86-64)
  arm64) root_type=b921b045-1df0-41c3-af44-4c6f280d3fae ;; # Root Partition (64-bit ARM/AArch64)
  *) die "--arch: expected amd64|arm64, received '$arch'" ;;
esac
# EFI System Partition (UEFI specification; the same UUID in the Discoverable Partitions Specification)
esp_type=c12a7328-f81f-11d2-ba4b-00a0c93ec93b
[ -f "$here/boards/$board.sh" ] || die "--board: no board '$board' (boards: $(cd "$here/boards" && ls *.sh | sed 's/\.sh$//' | tr '\n' ' '))"
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap --mode=root, ownership kept by mke2fs -d)"
for tool in mmdebstrap sfdisk mke2fs bmaptool sha256sum dpkg-deb; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian packages: mmdebstrap fdisk e2fsprogs bmap-tools coreutils dpkg)"
done

# board defaults, then the board layer
BOARD_ARCHES="amd64 arm64"
BOARD_INCLUDE=''
BOARD_ESP_MIB=0
board_customize() { :; }
board_fill_esp() { :; }
# shellcheck source=/dev/null
. "$here/boards/$board.sh"
case " $BOARD_ARCHES " in *" $arch "*) ;; *) die "board '$board' is for $BOARD_ARCHES, not $arch" ;; esac
if [ "$BOARD_ESP_MIB" -gt 0 ]; then
  for tool in mkfs.vfat mcopy mmd; do
    command -v "$tool" >/dev/null || die "$tool not found (board '$board' has an ESP: apt-get install dosfstools mtools)"
  done
fi

# the package: the given one, else out/deb/lightnode_<version>_<arch>.deb, built when absent
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json" | head -n1)"
if [ -z "$deb" ]; then
  deb="$repo/out/deb/lightnode_${version}_${arch}.deb"
  if [ ! -f "$deb" ]; then
    step "no $deb: building it (npm run package:deb -- --arch $arch)"
    (cd "$repo" && npm run -s package:deb -- --arch "$arch" ${seq:+--seq "$seq"}) >&2
  fi
fi
[ -f "$deb" ] || die "package $deb not found"
deb="$(realpath "$deb")"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || die "$deb is for $(dpkg-deb -f "$deb" Architecture), not $arch"
version="$(dpkg-deb -f "$deb" Version)"

mkdir -p "$outdir" "$repo/out/cache/apt/$arch"
outdir="$(realpath "$outdir")"
cache="$repo/out/cache/apt/$arch"
# the default board's image is lightnode-<version>-<arch>.img; another board's carries its name
img="$outdir/lightnode-$version-$arch$([ "$board" = none ] || echo "-$board").img"
# the root tree is built outside the repository (linters walk it; mmdebstrap mounts /proc and /dev inside)
work="$(mktemp -d "${TMPDIR:-/var/tmp}/lightnode-image.XXXXXX")"
cleanup() {
  # a failed mmdebstrap may leave its hooks' bind mounts (file-mirror-automount) under the root: unmount first
  local m
  for m in $(awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount "$m" || umount -l "$m" || true
  done
  rm -rf "$work"
  [ -z "${img:-}" ] || rm -f "$img.tmp"
}
trap cleanup EXIT
root="$work/root"

if [ "$arch" != "$(dpkg --print-architecture)" ]; then
  # a foreign root runs its maintainer scripts under qemu-user: binfmt_misc must be mounted and qemu enabled
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 || die "cannot enable qemu-aarch64 (qemu-user-static, binfmt-support)"
fi

step "mmdebstrap bookworm $arch (board $board, package $(basename "$deb"))"
include="systemd,systemd-sysv,udev,dbus,ca-certificates,systemd-timesyncd${BOARD_INCLUDE:+,$BOARD_INCLUDE},$deb"
# downloaded .debs are kept in out/cache/apt/<arch> between builds (sync-in / sync-out, as in mmdebstrap(1))
mmdebstrap --mode=root --variant=apt --architectures="$arch" --include="$include" \
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  --skip=essential/unlink \
  --setup-hook="mkdir -p \"\$1/var/cache/apt/archives/\"" \
  --setup-hook="sync-in $cache /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives $cache" \
  --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
  bookworm "$root" \
  'deb http://deb.debian.org/debian bookworm main' \
  'deb http://deb.debian.org/debian bookworm-updates main' \
  'deb http://deb.debian.org/debian-security bookworm-security main' >&2 ||
  die "mmdebstrap failed"
rm -f "$cache"/lightnode_*.deb

step "customize: empty machine-id, no device key, no SSH host keys, hostname lightnode"
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -f "$root/var/lib/lightnode/device.key" "$root"/etc/ssh/ssh_host_*
echo lightnode >"$root/etc/hostname"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/*
board_customize "$root"

# layout (512-byte sectors, partitions aligned to 1 MiB): [GPT 1 MiB][ESP][root][backup GPT 1 MiB]
used_kib="$(du -s -k -x "$root" | cut -f1)"
root_mib=$(((used_kib * 5 / 4 / 1024 + 384 + 3) / 4 * 4)) # used + 25 % + 384 MiB for releases and state
esp_mib=$BOARD_ESP_MIB
total_mib=$((1 + esp_mib + root_mib + 1))
esp_note=''
[ "$esp_mib" -gt 0 ] && esp_note=", ESP $esp_mib MiB"
step "image: $total_mib MiB (root $root_mib MiB for $((used_kib / 1024)) MiB used$esp_note)"
rm -f "$img" "$img.bmap" "$img.sha256"
truncate -s "${total_mib}M" "$img.tmp"
root_start=$(((1 + esp_mib) * 2048))
root_uuid="$(cat /proc/sys/kernel/random/uuid)"
{
  echo 'label: gpt'
  echo 'first-lba: 2048'
  [ "$esp_mib" -gt 0 ] && echo "start=2048, size=$((esp_mib * 2048)), type=$esp_type, name=\"esp\""
  echo "start=$root_start, size=$((root_mib * 2048)), type=$root_type, uuid=$root_uuid, name=\"lightnode-root\""
} | sfdisk --quiet --no-reread --no-tell-kernel "$img.tmp" >&2

export ROOT_PARTUUID="$root_uuid"
if [ "$esp_mib" -gt 0 ]; then
  step "ESP: vfat at 1 MiB, $esp_mib MiB"
  # built as its own file (mtools works on it without mounting), then copied in sparsely at its offset;
  # FAT32 with 512-byte clusters: enough clusters for FAT32 even on a small ESP
  esp="$work/esp.img"
  mkfs.vfat -C -F 32 -s 1 -n ESP "$esp" $((esp_mib * 1024)) >/dev/null
  board_fill_esp "$root" "$esp"
  dd if="$esp" of="$img.tmp" bs=1M seek=1 conv=notrunc,sparse status=none
  rm -f "$esp"
fi

step "root: ext4 by mke2fs -d at $((root_start / 2048)) MiB"
mke2fs -q -F -t ext4 -L lightnode-root -d "$root" -E "offset=$((root_start * 512))" "$img.tmp" "$((root_mib * 1024))k" >&2
mv "$img.tmp" "$img"

step "bmap and sha256"
bmaptool -q create -o "$img.bmap" "$img" 2>&1 | grep -v '^$' >&2 || true
[ -s "$img.bmap" ] || die "bmaptool create wrote no $img.bmap"
(cd "$outdir" && sha256sum "$(basename "$img")" >"$(basename "$img").sha256")
mapped="$(sed -n 's:.*<MappedBlocksCount> *\([0-9]*\) *</MappedBlocksCount>.*:\1:p' "$img.bmap")"
bsize="$(sed -n 's:.*<BlockSize> *\([0-9]*\) *</BlockSize>.*:\1:p' "$img.bmap")"
step "done: $img ($((mapped * bsize / 1048576)) MiB mapped of $total_mib MiB) in $((SECONDS - t0)) s"
echo "$img"
