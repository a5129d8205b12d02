#!/bin/sh
# Buildroot post-build script ($1 = TARGET_DIR): stamp the release and prepare the mount
# points of the read-only root. Shared by every Alchemist defconfig.
set -eu
TARGET_DIR=$1
EXT=$(dirname "$0")/../../..
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$EXT/../Cargo.toml" | head -n 1)
commit=$(git -C "$EXT/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "${version}+${commit}" > "$TARGET_DIR/etc/alchemist-release"
mkdir -p "$TARGET_DIR/data" "$TARGET_DIR/mnt"
# /etc/resolv.conf points into /run (tmpfs): the root is read-only squashfs.
ln -sf ../run/resolv.conf "$TARGET_DIR/etc/resolv.conf"
grep -q '^video:' "$TARGET_DIR/etc/group" || echo 'video:x:44:' >> "$TARGET_DIR/etc/group"
