# Board `none`: the bare root, no kernel and no bootloader. What CI boots with `systemd-nspawn -b -D` (the root
# partition mounted through `losetup --offset --sizelimit`), and the base every other board layers on.
# A board file is sourced by build.sh and may set:
#   BOARD_ARCHES   the arches it supports (default "amd64 arm64")
#   BOARD_INCLUDE  extra packages, comma-separated
#   BOARD_ESP_MIB  size of an EFI system partition placed before the root (0: none)
# and define board_customize ROOTDIR (after mmdebstrap) and board_fill_esp ROOTDIR ESP_IMAGE (a vfat file for mtools'
# `-i`, copied into the image afterwards; $ROOT_PARTUUID is the root partition's GPT UUID).
BOARD_ARCHES="amd64 arm64"
