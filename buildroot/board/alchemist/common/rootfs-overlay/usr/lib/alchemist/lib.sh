# shellcheck shell=sh
# Shared helpers for the init scripts (busybox sh), sourced with `. /usr/lib/alchemist/lib.sh`.

log() { echo "alchemist: $*" | tee -a /run/boot.log > /dev/console; }

# True when something is mounted on $1.
mounted() { grep -q " $1 " /proc/mounts 2>/dev/null; }

# Value of NAME=... on the kernel command line.
cmdline_arg() {
	read -r cmdline < /proc/cmdline
	for w in $cmdline; do
		case "$w" in "$1"=*) echo "${w#*=}" ;; esac
	done
}

# Grow the data partition (the last one) to the end of its disk, then its file system, which
# must be mounted on /data (ext4 grows online: no forced fsck, quick even on a large disk).
# Images are made small and flashed onto larger disks. sfdisk also moves the backup GPT to the
# new end of the disk; the root partition on the same disk is in use, so the kernel learns the
# new size through partx (BLKPG), not a whole-table re-read. Done once: /data/.grown.
grow_data() {
	dev=$1
	part=$(basename "$dev")
	for tool in sfdisk partx resize2fs; do
		command -v $tool >/dev/null 2>&1 || { log "$tool is not in this image: /data keeps its size"; return 0; }
	done
	disk=/dev/$(basename "$(readlink -f "/sys/class/block/$part/..")")
	read -r num < "/sys/class/block/$part/partition"
	read -r before < "/sys/class/block/$part/size"
	if ! echo ", +" | sfdisk -q --no-reread --no-tell-kernel -N "$num" "$disk" >/run/grow-data.log 2>&1 ||
		! partx -u -n "$num" "$disk" >>/run/grow-data.log 2>&1; then
		log "cannot grow the data partition (see /run/grow-data.log)"
		return 0
	fi
	read -r after < "/sys/class/block/$part/size"
	if [ "$after" -gt "$before" ] && ! resize2fs "$dev" >>/run/grow-data.log 2>&1; then
		log "cannot grow the /data file system (see /run/grow-data.log)"
		return 0
	fi
	[ "$after" -gt "$before" ] && log "data partition grown from $((before / 2048)) to $((after / 2048)) MiB"
	touch /data/.grown
}

# The box's IPv4 addresses, one per line.
addresses() {
	ip -4 -o addr show scope global 2>/dev/null | while read -r _ _ _ a _; do echo "${a%/*}"; done
}

# Without udev (the offline test image runs mdev), give the GPT partitions the
# /dev/disk/by-partlabel/NAME links udev would make: RAUC's slots are named that way.
partlabel_links() {
	mkdir -p /dev/disk/by-partlabel
	for u in /sys/class/block/*/uevent; do
		name=$(sed -n 's/^PARTNAME=//p' "$u")
		[ -n "$name" ] || continue
		ln -sfn "../../$(basename "$(dirname "$u")")" "/dev/disk/by-partlabel/$name"
	done
}
