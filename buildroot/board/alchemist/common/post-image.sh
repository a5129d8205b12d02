#!/bin/sh
# Buildroot post-image script: make the empty /data file system (label alchemist-data; it is
# grown to the end of the disk on first boot), then run genimage with the board's config,
# given as the first BR2_ROOTFS_POST_SCRIPT_ARGS word. Output: images/alchemist-*.img and
# a zstd-compressed copy for flashing tools.
set -eu
BINARIES_DIR=$1
GENIMAGE_CFG=$2
empty=$(mktemp -d)
mkdir -p "$empty/alchemist" "$empty/media" "$empty/etc"
rm -f "$BINARIES_DIR/data.ext4"
"$HOST_DIR/sbin/mkfs.ext4" -q -L alchemist-data -d "$empty" "$BINARIES_DIR/data.ext4" 128M
rmdir "$empty"/* "$empty"
support/scripts/genimage.sh -c "$GENIMAGE_CFG"
for img in "$BINARIES_DIR"/alchemist-*.img; do
	"$HOST_DIR/bin/zstd" -q -f -T0 -19 "$img" -o "$img.zst"
done
