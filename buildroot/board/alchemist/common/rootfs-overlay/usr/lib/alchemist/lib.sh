# Shared helpers for the init scripts.
log() { echo "alchemist: $*" | tee -a /run/boot.log > /dev/console; }

# Value of NAME=... on the kernel command line.
cmdline_arg() {
	for w in $(cat /proc/cmdline); do
		case "$w" in "$1"=*) echo "${w#*=}" ;; esac
	done
}

# Grow the data partition (the last one) to the end of its disk, then its file system.
# Needs sfdisk and resize2fs (the buildroot image has them); skipped where they are missing.
grow_data() {
	dev=$1
	part=$(basename "$dev")
	if ! command -v sfdisk >/dev/null 2>&1 || ! command -v resize2fs >/dev/null 2>&1; then
		log "sfdisk/resize2fs not in this image: /data keeps its size"
		return 0
	fi
	disk=/dev/$(basename "$(readlink -f /sys/class/block/$part/..)")
	num=$(cat /sys/class/block/$part/partition)
	echo ", +" | sfdisk --no-reread -N "$num" "$disk" >/dev/null 2>&1 &&
		partx -u "$disk" 2>/dev/null
	e2fsck -p -f "$dev" >/dev/null 2>&1
	resize2fs "$dev" >/dev/null 2>&1 && log "data partition grown to fill $disk"
	mount -t ext4 "$dev" /data && touch /data/.grown && umount /data
}

# The box's IPv4 addresses, one per line.
addresses() {
	ip -4 -o addr show scope global 2>/dev/null | while read -r _ _ _ a _; do echo "${a%/*}"; done
}
