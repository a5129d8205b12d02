# shellcheck shell=bash
# The A/B parts of the offline image, sourced by image/build: the same mechanism and layout as
# the Buildroot images (buildroot/board/alchemist/common: grub.cfg, rauc/), built from
# Debian's GRUB and RAUC instead of Buildroot's. Uses image/build's variables (ROOT, OUT,
# RELEASE, TOOLDIR, the layout) and its say/die.
COMMON=$ROOT/buildroot/board/alchemist/common
# GRUB modules built into the EFI binary, as BR2_TARGET_GRUB2_BUILTIN_MODULES_EFI: the ESP has
# no module directory.
GRUB_MODULES=(boot linux ext2 fat squash4 part_msdos part_gpt normal efi_gop loadenv test regexp echo)

# The keyring the image trusts and the key its bundles are signed with: ALCHEMIST_RAUC_KEYRING,
# _CERT and _KEY, or a throw-away self-signed key made once for this checkout (tests only; the
# same for every output directory, so a bundle from one build installs on another's image).
rauc_keys() {
	local dir=$ROOT/target/rauc-test-keys
	if [ -z "${ALCHEMIST_RAUC_CERT:-}" ] && [ ! -s "$dir/cert.pem" ]; then
		say "making a throw-away update signing key in $dir (not for release images)"
		mkdir -p "$dir"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
			-subj "/O=Alchemist test/CN=Alchemist throw-away update key" \
			-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || die "openssl could not make a key"
	fi
	RAUC_CERT=${ALCHEMIST_RAUC_CERT:-$dir/cert.pem}
	RAUC_KEY=${ALCHEMIST_RAUC_KEY:-$dir/key.pem}
	RAUC_KEYRING=${ALCHEMIST_RAUC_KEYRING:-$RAUC_CERT}
	for f in "$RAUC_CERT" "$RAUC_KEY" "$RAUC_KEYRING"; do [ -s "$f" ] || die "$f is missing"; done
}

# RAUC's configuration and keyring in the root ROOTDIR, for board COMPATIBLE (GRUB backend).
install_rauc_config() {
	local r=$1 compatible=$2
	mkdir -p "$r/etc/rauc"
	sed -e "s|@COMPATIBLE@|$compatible|" -e "s|@BOOTLOADER@|grub|" \
		-e "s|@BOOTLOADER_OPTIONS@|grubenv=/boot/EFI/BOOT/grubenv|" \
		"$COMMON/rauc/system.conf.in" > "$r/etc/rauc/system.conf"
	install -m 0644 "$RAUC_KEYRING" "$r/etc/rauc/keyring.pem"
	echo "$compatible" > "$r/etc/rauc/compatible"
}

# A slot's boot file system: the kernel and the initramfs, as GRUB's menu entries expect them.
# Sized to its contents plus room (the partition is larger): RAUC copies the whole image at
# every update, and the bundle carries it.
make_boot() {
	local work=$1 kib
	kib=$((($(stat -c %s "$work/vmlinuz") + $(stat -c %s "$work/initrd.img")) / 1024 + 4096))
	rm -f "$work/boot.vfat"
	mkfs.vfat -C -n BOOT "$work/boot.vfat" "$kib" >/dev/null
	mcopy -i "$work/boot.vfat" "$work/vmlinuz" ::/linux
	mcopy -i "$work/boot.vfat" "$work/initrd.img" ::/initrd
}

# The ESP: GRUB (Debian's grub-efi modules, made into one EFI binary found at the removable-media
# path, so no NVRAM entry is needed), the shared grub.cfg and its environment: slot A good and
# first, slot B empty. RAUC keeps its status in rauc/.
make_esp() {
	local arch=$1 work=$2 format efi
	case $arch in
	x86_64) format=x86_64-efi efi=BOOTX64.EFI ;;
	aarch64) format=arm64-efi efi=BOOTAA64.EFI ;;
	esac
	[ -d "$TOOLDIR/usr/lib/grub/$format" ] || die "GRUB modules for $format are missing"
	grub-mkimage -O "$format" -d "$TOOLDIR/usr/lib/grub/$format" -p /EFI/BOOT -o "$work/$efi" "${GRUB_MODULES[@]}"
	rm -f "$work/grubenv"
	grub-editenv "$work/grubenv" create
	grub-editenv "$work/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
	rm -f "$work/esp.img"
	mkfs.vfat -C -F 32 -n ESP "$work/esp.img" $((ESP_SECTORS / 2)) >/dev/null
	mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT ::/rauc
	mcopy -i "$work/esp.img" "$work/$efi" "::/EFI/BOOT/$efi"
	mcopy -i "$work/esp.img" "$COMMON/grub.cfg" ::/EFI/BOOT/grub.cfg
	mcopy -i "$work/esp.img" "$work/grubenv" ::/EFI/BOOT/grubenv
}

# The whole disk: GPT with the A/B layout, slot A written, slot B empty, an empty /data.
make_disk() {
	local arch=$1 work=$2
	local img=$OUT/alchemist-$arch.img
	local data_sectors=$((DATA_MIB * 2048)) f size
	rm -rf "$work/data" "$work/data.ext4"
	mkdir -p "$work/data/alchemist" "$work/data/media" "$work/data/etc"
	mkfs.ext4 -q -F -L alchemist-data -d "$work/data" "$work/data.ext4" "${DATA_MIB}M" >/dev/null
	for f in root.sqfs:$ROOT_SECTORS boot.vfat:$BOOT_SECTORS; do
		size=$(stat -c %s "$work/${f%%:*}")
		[ "$size" -le $((${f#*:} * 512)) ] || die "${f%%:*} ($size bytes) does not fit its partition"
	done
	rm -f "$img"
	truncate -s $(((DATA_START + data_sectors + 2048) * 512)) "$img"
	local linux=0FC63DAF-8483-4772-8E79-3D69D8477DE4 fat=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
	sfdisk -q "$img" <<EOT
label: gpt
start=$ESP_START, size=$ESP_SECTORS, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=$BOOT_A_START, size=$BOOT_SECTORS, type=$fat, name=boot-a
start=$ROOT_A_START, size=$ROOT_SECTORS, type=$linux, name=root-a
start=$BOOT_B_START, size=$BOOT_SECTORS, type=$fat, name=boot-b
start=$ROOT_B_START, size=$ROOT_SECTORS, type=$linux, name=root-b
start=$DATA_START, size=$data_sectors, type=$linux, name=data
EOT
	dd if="$work/esp.img" of="$img" bs=512 seek="$ESP_START" conv=notrunc status=none
	dd if="$work/boot.vfat" of="$img" bs=512 seek="$BOOT_A_START" conv=notrunc status=none
	dd if="$work/root.sqfs" of="$img" bs=512 seek="$ROOT_A_START" conv=notrunc status=none
	dd if="$work/data.ext4" of="$img" bs=512 seek="$DATA_START" conv=notrunc status=none
	zstd -q -f -T0 -3 "$img" -o "$img.zst"
}

# The signed update bundle of this build (root and kernel), as Buildroot's post-image.sh makes it.
make_bundle() {
	local arch=$1 work=$2
	"$COMMON/rauc/make-bundle" "alchemist-offline-$arch" "$RELEASE" "$work/root.sqfs" \
		"$work/boot.vfat" "$RAUC_CERT" "$RAUC_KEY" "$OUT/alchemist-$arch.raucb" >/dev/null
}
