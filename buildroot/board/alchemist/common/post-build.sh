#!/bin/sh
# Buildroot post-build script, shared by every Alchemist defconfig:
#   post-build.sh TARGET_DIR BOARD      (BOARD: the first BR2_ROOTFS_POST_SCRIPT_ARGS word)
# Stamps the release, prepares the mount points of the read-only root and installs RAUC's
# configuration for BOARD with the release keyring, whose path is given in the environment:
#   ALCHEMIST_RAUC_KEYRING   PEM certificate(s) update bundles must be signed under
# (buildroot/README.md, "Release keys").
set -eu
TARGET_DIR=$1
BOARD=$2
BOARD_DIR=$(dirname "$0")/..
EXT=$BOARD_DIR/../..
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$EXT/../Cargo.toml" | head -n 1)
commit=$(git -C "$EXT/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "${version}+${commit}" > "$TARGET_DIR/etc/alchemist-release"
mkdir -p "$TARGET_DIR/data" "$TARGET_DIR/mnt" "$TARGET_DIR/boot"
# /etc/resolv.conf points into /run (tmpfs): the root is read-only squashfs.
ln -sf ../run/resolv.conf "$TARGET_DIR/etc/resolv.conf"
grep -q '^video:' "$TARGET_DIR/etc/group" || echo 'video:x:44:' >> "$TARGET_DIR/etc/group"

case "$BOARD" in
rpi4) bootloader=uboot options="" ;;
*) bootloader=grub options="grubenv=/boot/EFI/BOOT/grubenv" ;;
esac
mkdir -p "$TARGET_DIR/etc/rauc"
sed -e "s|@COMPATIBLE@|alchemist-$BOARD|" -e "s|@BOOTLOADER@|$bootloader|" \
	-e "s|@BOOTLOADER_OPTIONS@|$options|" \
	"$BOARD_DIR/common/rauc/system.conf.in" > "$TARGET_DIR/etc/rauc/system.conf"
keyring=${ALCHEMIST_RAUC_KEYRING:-}
if [ -z "$keyring" ] || [ ! -s "$keyring" ]; then
	echo "post-build.sh: ALCHEMIST_RAUC_KEYRING must name the release keyring (PEM): without it" >&2
	echo "the box could not check any update bundle. See buildroot/README.md, Release keys." >&2
	exit 1
fi
install -m 0644 "$keyring" "$TARGET_DIR/etc/rauc/keyring.pem"
