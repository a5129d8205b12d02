#!/bin/sh
# Buildroot post-image script, shared by every Alchemist defconfig:
#   post-image.sh BINARIES_DIR BOARD     (BOARD: the first BR2_ROOTFS_POST_SCRIPT_ARGS word)
# Makes the empty /data file system (label alchemist-data, grown to the end of the disk on
# first boot), the boot loader's files on the ESP with its A/B environment (slot A good, slot
# B empty), then runs genimage with the board's layout (esp, boot-a, root-a, boot-b, root-b,
# data) and makes the signed update bundle of the same release. Output in BINARIES_DIR:
#   alchemist-BOARD.img (+ .img.zst for flashing tools), alchemist-BOARD.raucb
# The bundle is signed with the release key and certificate named in the environment:
#   ALCHEMIST_RAUC_CERT, ALCHEMIST_RAUC_KEY   (buildroot/README.md, "Release keys")
set -eu
BINARIES_DIR=$1
BOARD=$2
BOARD_DIR=$(dirname "$0")/..
COMMON=$BOARD_DIR/common
: "${HOST_DIR:?post-image.sh runs from Buildroot}"
: "${TARGET_DIR:?post-image.sh runs from Buildroot}"

empty=$(mktemp -d)
mkdir -p "$empty/alchemist" "$empty/media" "$empty/etc"
rm -f "$BINARIES_DIR/data.ext4"
"$HOST_DIR/sbin/mkfs.ext4" -q -L alchemist-data -d "$empty" "$BINARIES_DIR/data.ext4" 128M
rm -rf "$empty"

case "$BOARD" in
rpi4)
	genimage_cfg=$BOARD_DIR/rpi4/genimage.cfg
	# The firmware, U-Boot and its boot script (boot.scr, made by host-uboot-tools) go on
	# the ESP, the kernel on boot-a. U-Boot's environment (uboot.env) is written there by
	# boot.scr at the first boot.
	;;
*)
	genimage_cfg=$COMMON/genimage-efi.cfg
	efi=$BINARIES_DIR/efi-part/EFI/BOOT
	# Buildroot installs its own example grub.cfg there; ours selects the A/B slot.
	install -m 0644 "$COMMON/grub.cfg" "$efi/grub.cfg"
	rm -f "$efi/grubenv"
	"$HOST_DIR/bin/grub-editenv" "$efi/grubenv" create
	"$HOST_DIR/bin/grub-editenv" "$efi/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
	for k in bzImage Image; do
		[ -f "$BINARIES_DIR/$k" ] && cp "$BINARIES_DIR/$k" "$BINARIES_DIR/linux"
	done
	;;
esac

support/scripts/genimage.sh -c "$genimage_cfg"
mv "$BINARIES_DIR/alchemist.img" "$BINARIES_DIR/alchemist-$BOARD.img"
for img in "$BINARIES_DIR"/alchemist-*.img; do
	"$HOST_DIR/bin/zstd" -q -f -T0 -19 "$img" -o "$img.zst"
done

cert=${ALCHEMIST_RAUC_CERT:-} key=${ALCHEMIST_RAUC_KEY:-}
if [ -z "$cert" ] || [ -z "$key" ]; then
	echo "post-image.sh: ALCHEMIST_RAUC_CERT and ALCHEMIST_RAUC_KEY must name the release signing" >&2
	echo "certificate and key: no update bundle without them. See buildroot/README.md." >&2
	exit 1
fi
release=$(cat "$TARGET_DIR/etc/alchemist-release")
PATH=$HOST_DIR/bin:$HOST_DIR/sbin:$PATH "$COMMON/rauc/make-bundle" "alchemist-$BOARD" "$release" \
	"$BINARIES_DIR/rootfs.squashfs" "$BINARIES_DIR/boot.vfat" "$cert" "$key" \
	"$BINARIES_DIR/alchemist-$BOARD.raucb" "$HOST_DIR/bin/rauc"
