# Board `generic-efi`: a PC or VM with UEFI firmware (amd64). Debian's kernel and initramfs, systemd-boot on a
# 256 MiB ESP (vfat by mkfs.vfat, filled by mtools without mounting); the root found by its GPT partition UUID.
BOARD_ARCHES="amd64"
BOARD_INCLUDE="linux-image-amd64,systemd-boot-efi,e2fsprogs"
BOARD_ESP_MIB=256

board_fill_esp() {
  local root="$1" esp="$2" kernel initrd kver
  kernel="$(cd "$root/boot" && ls vmlinuz-* | sort -V | tail -n1)"
  kver="${kernel#vmlinuz-}"
  initrd="initrd.img-$kver"
  [ -f "$root/boot/$initrd" ] || { echo "image: no $root/boot/$initrd (initramfs-tools)" >&2; return 1; }
  local efi="$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
  [ -f "$efi" ] || { echo "image: no $efi (systemd-boot-efi)" >&2; return 1; }
  mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/loader ::/loader/entries ::/lightnode
  # the removable-media path: firmware boots it without NVRAM entries
  mcopy -i "$esp" "$efi" ::/EFI/BOOT/BOOTX64.EFI
  mcopy -i "$esp" "$efi" ::/EFI/systemd/systemd-bootx64.efi
  mcopy -i "$esp" "$root/boot/$kernel" ::/lightnode/vmlinuz
  mcopy -i "$esp" "$root/boot/$initrd" ::/lightnode/initrd.img
  local tmp
  tmp="$(mktemp -d)"
  printf 'default lightnode.conf\ntimeout 0\n' >"$tmp/loader.conf"
  printf 'title Light Node\nversion %s\nlinux /lightnode/vmlinuz\ninitrd /lightnode/initrd.img\noptions root=PARTUUID=%s rw quiet\n' \
    "$kver" "$ROOT_PARTUUID" >"$tmp/lightnode.conf"
  mcopy -i "$esp" "$tmp/loader.conf" ::/loader/loader.conf
  mcopy -i "$esp" "$tmp/lightnode.conf" ::/loader/entries/lightnode.conf
  rm -rf "$tmp"
  # fstab goes into the root before mke2fs writes it (build.sh runs this step first)
  printf 'PARTUUID=%s / ext4 rw,errors=remount-ro 0 1\nPARTLABEL=esp /boot/efi vfat umask=0077,nofail 0 2\n' \
    "$ROOT_PARTUUID" >"$root/etc/fstab"
  mkdir -p "$root/boot/efi"
}
