# U-Boot script of the Raspberry Pi 4 image (mkimage makes boot.scr of it): A/B slots with
# boot counting, in the variables RAUC's uboot backend reads and writes (fw_setenv):
#   BOOT_ORDER    slots in order of preference ("A B"); RAUC puts a newly installed slot first
#   BOOT_X_LEFT   boot attempts left for slot X: decremented here before each boot, set back
#                 to 3 by `rauc status mark-good` once the service answers /api/ready
#                 (S60healthcheck), 0 when marked bad; a slot with none left is skipped
# Partitions: 1 esp, 2 boot-a, 3 root-a, 4 boot-b, 5 root-b, 6 data. The first boot writes
# uboot.env on the ESP (slot B empty until the first update).
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 0

setenv slot
for s in ${BOOT_ORDER}; do
	if test "x${slot}" = "x"; then
		if test "x${s}" = "xA" && test ${BOOT_A_LEFT} -gt 0; then
			setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
			setenv slot A
			setenv bootpart 2
			setenv rootpart root-a
		elif test "x${s}" = "xB" && test ${BOOT_B_LEFT} -gt 0; then
			setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
			setenv slot B
			setenv bootpart 4
			setenv rootpart root-b
		fi
	fi
done

if test "x${slot}" = "x"; then
	# Every slot used up its attempts: give slot A its attempts back rather than stop here.
	echo "alchemist: no slot has boot attempts left; retrying slot A"
	setenv BOOT_A_LEFT 2
	setenv slot A
	setenv bootpart 2
	setenv rootpart root-a
fi
saveenv

echo "alchemist: booting slot ${slot} (order ${BOOT_ORDER}, left A=${BOOT_A_LEFT} B=${BOOT_B_LEFT})"
setenv bootargs "root=PARTLABEL=${rootpart} rauc.slot=${slot} rootfstype=squashfs ro rootwait panic=10 loglevel=4 console=tty1 console=ttyS0,115200"
load mmc 0:${bootpart} ${kernel_addr_r} Image
booti ${kernel_addr_r} - ${fdt_addr}
