//! Board I/O inside the x86_64 guest: gpio-sim (a simulated GPIO chip, configured through
//! configfs) carries the status LED, i2c-stub (an SMBus adapter with a register file at 0x48)
//! plays the LM75. The test reads the LED line back through gpio-sim's sysfs and writes the
//! temperature register with busybox's i2cset, so the server's own linux-embedded-hal code is
//! what sits in between.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::qemu::Guest;
use crate::support::qemu::images;

/// The LED's line on the simulated chip.
pub const LED_LINE: u32 = 3;

/// Modules inserted at boot by the test hook, in order (from image/modules).
pub fn modules() -> Vec<PathBuf> {
    let dir = images::modules_x86_64();
    ["configfs.ko", "irq_sim.ko", "gpio-sim.ko", "i2c-dev.ko"]
        .iter()
        .map(|m| dir.join(m))
        .collect()
}

/// i2c-stub goes in as a plain file: it needs `chip_addr`, which the test hook cannot pass.
pub fn stub_file() -> (PathBuf, String) {
    (
        images::modules_x86_64().join("i2c-stub.ko"),
        "i2c-stub.ko".into(),
    )
}

/// Where the guest's board devices ended up.
pub struct Devices {
    /// `/sys/devices/platform/gpio-sim.N/gpiochipM/sim_gpio3/value`
    pub led_value: String,
    /// `/dev/i2c-N` number of the stub adapter.
    pub bus: u32,
    /// The `[board]` table for alchemist.toml.
    pub toml: String,
}

/// Create the simulated devices and return their paths.
pub fn create(guest: &mut Guest) -> Devices {
    guest.run("insmod /mnt/test/i2c-stub.ko chip_addr=0x48");
    let cfg = "/sys/kernel/config/gpio-sim/alchemist";
    guest.run(&format!(
        "grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs none /sys/kernel/config; \
         mkdir {cfg} {cfg}/bank0 && echo 8 > {cfg}/bank0/num_lines && echo 1 > {cfg}/live"
    ));
    let dev = guest.run(&format!("cat {cfg}/dev_name")).trim().to_string();
    let chip = guest
        .run(&format!("cat {cfg}/bank0/chip_name"))
        .trim()
        .to_string();
    let led_value = format!("/sys/devices/platform/{dev}/{chip}/sim_gpio{LED_LINE}/value");
    let bus: u32 = guest
        .run("grep -l 'SMBus stub' /sys/class/i2c-adapter/*/name")
        .trim()
        .trim_end_matches("/name")
        .rsplit("i2c-")
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the i2c-stub adapter");
    // mdev may not have made the nodes yet.
    guest.run(&format!(
        "for i in $(seq 50); do [ -c /dev/{chip} ] && [ -c /dev/i2c-{bus} ] && break; sleep 0.1; mdev -s; done; \
         ls -l /dev/{chip} /dev/i2c-{bus}"
    ));
    let toml = format!(
        "\n[board]\nled = {{ chip = \"/dev/{chip}\", line = {LED_LINE} }}\n\
         thermal = {{ i2c = \"/dev/i2c-{bus}\", address = 0x48, pause_above_c = 75.0, resume_below_c = 65.0, interval_s = 1 }}\n"
    );
    Devices {
        led_value,
        bus,
        toml,
    }
}

/// Mounts debugfs (for `/sys/kernel/debug/gpio`) unless it is there.
const DEBUGFS: &str =
    "grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug";

/// Run the shell `condition` in the guest until it holds or `timeout` passes on the guest's
/// clock (under TCG a shell loop iteration costs far more than its `sleep`); whether it held.
fn wait_until(guest: &mut Guest, condition: &str, timeout: Duration) -> bool {
    let (rc, _) = guest.exec(
        &format!(
            "end=$(($(date +%s) + {secs})); \
             until {condition}; do [ $(date +%s) -gt $end ] && exit 1; sleep 0.1; done",
            secs = timeout.as_secs()
        ),
        timeout + Duration::from_secs(60),
    );
    rc == 0
}

/// Wait in the guest until the LED line reads `value`; panics with what the guest knows
/// otherwise.
pub fn wait_led(guest: &mut Guest, d: &Devices, value: u8, timeout: Duration) {
    let condition = format!("[ \"$(cat {})\" = {value} ]", d.led_value);
    if !wait_until(guest, &condition, timeout) {
        panic!("the LED line did not become {value}\n{}", diagnose(guest));
    }
}

/// Wait until the server holds the LED line as an output: the kernel lists it under its
/// consumer label.
pub fn wait_line_held(guest: &mut Guest, timeout: Duration) {
    guest.run(DEBUGFS);
    let held = "grep 'alchemist-led' /sys/kernel/debug/gpio | grep -q ' out '";
    if !wait_until(guest, held, timeout) {
        panic!(
            "the server did not take the LED line as an output\n{}",
            diagnose(guest)
        );
    }
}

/// What the guest says about the board devices and the server, for a failure message.
pub fn diagnose(guest: &mut Guest) -> String {
    let (_, out) = guest.exec(
        &format!(
            "{DEBUGFS}; \
         echo '--- /sys/kernel/debug/gpio'; cat /sys/kernel/debug/gpio; \
         echo '--- board config'; grep -A3 '^\\[board\\]' /data/alchemist/alchemist.toml; \
         echo '--- processes'; ps | grep -v ' \\[' ; \
         echo '--- /var/log/alchemist.log'; tail -n 60 /var/log/alchemist.log"
        ),
        Duration::from_secs(60),
    );
    out
}

/// Write the LM75 temperature register (an SMBus word: LSB first on the wire, the LM75's
/// MSB is the integer part).
pub fn set_celsius(guest: &mut Guest, d: &Devices, celsius: f64) {
    let raw = ((celsius / 0.125).round() as i16 as u16) << 5;
    let word = raw.swap_bytes();
    guest.run(&format!("i2cset -y {} 0x48 0x00 {word:#06x} w", d.bus));
}
