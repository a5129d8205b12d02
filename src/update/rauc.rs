//! RAUC's answers as data: `rauc status --detailed --output-format=json`, `rauc info
//! --output-format=json` and the progress lines `rauc install` prints. Pure: no process, no
//! I/O; the shapes are those of RAUC 1.8 (Debian 12, the offline image) and 1.15 (Buildroot).

use serde::Deserialize;
use serde_json::Value;

/// Something RAUC printed that is not what its JSON output looks like.
#[derive(Debug, thiserror::Error)]
#[error("unexpected output of rauc: {0}")]
pub struct ParseError(pub String);

/// The system as `rauc status` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaucStatus {
    /// The board (`compatible=` of system.conf); bundles for another board are refused.
    pub compatible: String,
    /// Boot name ("A", "B") of the booted slot, when RAUC knows it.
    pub booted: Option<String>,
    /// Slot name (e.g. `rootfs.1`) the boot loader will pick next.
    pub boot_primary: Option<String>,
    /// The bootable slots (those with a boot name), in boot-name order.
    pub slots: Vec<RaucSlot>,
}

/// One bootable slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaucSlot {
    /// RAUC's slot name, e.g. `rootfs.0`.
    pub name: String,
    /// The boot name the boot loader uses ("A", "B").
    pub bootname: String,
    /// `booted`, `active` (installed from this boot) or `inactive`.
    pub state: String,
    /// The boot loader's view: true when marked good and not on trial.
    pub good: bool,
    /// Version of the bundle RAUC installed there; none for a slot it never wrote (the one
    /// the image was flashed with, or an empty one).
    pub version: Option<String>,
    /// When RAUC installed it (RFC 3339).
    pub installed_at: Option<String>,
}

#[derive(Deserialize)]
struct StatusJson {
    compatible: String,
    booted: Option<String>,
    boot_primary: Option<String>,
    slots: Vec<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct SlotJson {
    bootname: Option<String>,
    state: Option<String>,
    boot_status: Option<String>,
    slot_status: Option<SlotStatusJson>,
}

#[derive(Deserialize)]
struct SlotStatusJson {
    bundle: Option<BundleJson>,
    installed: Option<InstalledJson>,
}

#[derive(Deserialize)]
struct BundleJson {
    version: Option<String>,
}

#[derive(Deserialize)]
struct InstalledJson {
    timestamp: Option<String>,
}

/// Parse `rauc status --detailed --output-format=json`.
pub fn parse_status(json: &str) -> Result<RaucStatus, ParseError> {
    let raw: StatusJson = serde_json::from_str(json).map_err(|e| ParseError(e.to_string()))?;
    let mut slots = Vec::new();
    // Each element is a one-entry object: {"rootfs.0": {...}}.
    for entry in raw.slots {
        for (name, value) in entry {
            let slot: SlotJson =
                serde_json::from_value(value).map_err(|e| ParseError(format!("{name}: {e}")))?;
            let Some(bootname) = slot.bootname else {
                continue; // a child slot (the kernel partition) follows its parent
            };
            let status = slot.slot_status;
            slots.push(RaucSlot {
                name,
                bootname,
                state: slot.state.unwrap_or_default(),
                good: slot.boot_status.as_deref() == Some("good"),
                version: status
                    .as_ref()
                    .and_then(|s| s.bundle.as_ref())
                    .and_then(|b| b.version.clone()),
                installed_at: status.and_then(|s| s.installed).and_then(|i| i.timestamp),
            });
        }
    }
    slots.sort_by(|a, b| a.bootname.cmp(&b.bootname));
    Ok(RaucStatus {
        compatible: raw.compatible,
        booted: raw.booted.filter(|b| !b.is_empty()),
        boot_primary: raw.boot_primary,
        slots,
    })
}

/// What a bundle says about itself, once RAUC has checked its signature.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BundleInfo {
    pub compatible: String,
    pub version: Option<String>,
}

/// Parse `rauc info --output-format=json`.
pub fn parse_info(json: &str) -> Result<BundleInfo, ParseError> {
    serde_json::from_str(json).map_err(|e| ParseError(e.to_string()))
}

/// One line of `rauc install` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallLine {
    /// `  40% Copying image to rootfs.1`
    Progress { percentage: u8, message: String },
    /// `LastError: …`: why the installation failed.
    Error(String),
    /// Anything else (`Installing ... succeeded`, blank lines).
    Other,
}

/// Classify one line of `rauc install` output.
pub fn parse_install_line(line: &str) -> InstallLine {
    // RAUC clears the terminal line with an escape sequence even when not on a terminal.
    let line = line.trim_start_matches("\u{1b}[J").trim();
    if let Some(error) = line.strip_prefix("LastError:") {
        return InstallLine::Error(error.trim().to_string());
    }
    if let Some((number, message)) = line.split_once("% ")
        && let Ok(percentage) = number.trim().parse::<u8>()
        && percentage <= 100
    {
        return InstallLine::Progress {
            percentage,
            message: message.trim().to_string(),
        };
    }
    InstallLine::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rauc status --detailed --output-format=json` of RAUC 1.8 on the offline image, booted
    /// from slot B after an update into it and marked good (recorded in a qemu guest).
    const STATUS_B: &str = include_str!("../../tests/fixtures/rauc/status-booted-b.json");
    /// The same on a freshly flashed image: slot A booted, never written by RAUC.
    const STATUS_FRESH: &str = include_str!("../../tests/fixtures/rauc/status-fresh.json");

    #[test]
    fn status_after_an_update_has_both_slots_with_the_installed_version() {
        let s = parse_status(STATUS_B).unwrap();
        assert_eq!(s.compatible, "alchemist-offline-x86_64");
        assert_eq!(s.booted.as_deref(), Some("B"));
        assert_eq!(s.boot_primary.as_deref(), Some("rootfs.1"));
        let names: Vec<_> = s.slots.iter().map(|s| s.bootname.as_str()).collect();
        assert_eq!(names, ["A", "B"], "kernel slots are left out");
        let b = &s.slots[1];
        assert_eq!(b.name, "rootfs.1");
        assert_eq!(b.state, "booted");
        assert!(b.good);
        assert_eq!(b.version.as_deref(), Some("0.1.0+d03cc16"));
        assert!(b.installed_at.is_some());
    }

    #[test]
    fn a_fresh_image_knows_no_versions() {
        let s = parse_status(STATUS_FRESH).unwrap();
        assert_eq!(s.booted.as_deref(), Some("A"));
        assert!(s.slots.iter().all(|s| s.version.is_none()), "{s:?}");
        assert!(!s.slots[1].good, "slot B is empty and never booted");
    }

    #[test]
    fn garbage_is_an_error_not_an_empty_status() {
        assert!(parse_status("Error retrieving slot status via D-Bus").is_err());
        assert!(parse_status("{}").is_err());
    }

    #[test]
    fn bundle_info() {
        // Recorded from `rauc info --output-format=json` of RAUC 1.8.
        let info = parse_info(
            r#"{"compatible":"alchemist-offline-x86_64","version":"9.9.9-next","description":"Alchemist 9.9.9-next for alchemist-offline-x86_64","build":null,"hooks":[],"images":[{"rootfs":{"variant":null,"filename":"root.squashfs","checksum":"4c9f","size":72404992,"hooks":[],"adaptive":[]}}]}"#,
        )
        .unwrap();
        assert_eq!(info.compatible, "alchemist-offline-x86_64");
        assert_eq!(info.version.as_deref(), Some("9.9.9-next"));
    }

    #[test]
    fn install_lines() {
        assert_eq!(
            parse_install_line(" 40% Copying image to rootfs.1"),
            InstallLine::Progress {
                percentage: 40,
                message: "Copying image to rootfs.1".into()
            }
        );
        assert_eq!(
            parse_install_line("100% Installing done."),
            InstallLine::Progress {
                percentage: 100,
                message: "Installing done.".into()
            }
        );
        assert_eq!(
            parse_install_line("\u{1b}[JLastError: Failed to verify bundle"),
            InstallLine::Error("Failed to verify bundle".into())
        );
        assert_eq!(
            parse_install_line("Installing `/tmp/a.raucb` succeeded"),
            InstallLine::Other
        );
        assert_eq!(parse_install_line("300% nonsense"), InstallLine::Other);
    }
}
