//! Firmware updates of the appliance through RAUC: two slot groups (A and B), the booted one
//! serving while a signed bundle is written into the other, which the boot loader then boots
//! once on trial (the boot health check marks it good once `/api/ready` answers, or the box
//! falls back). This module only asks RAUC, through its command line: `rauc status` for the
//! slots, `rauc info` to check a bundle's signature and board before anything is written,
//! `rauc install` (reporting progress) to write it; and `reboot`. Off an appliance (no RAUC or
//! no system configuration) updates are simply unavailable.
//!
//! There is one `Updater` per process (`shared`): RAUC serialises installs on the machine, and
//! the install state must be the same for every router serving it.

mod install;
pub mod rauc;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

/// Longest `rauc status` / `rauc info` may take (the service may be busy installing).
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest bundle accepted: a release root is a few hundred megabytes at most.
pub const MAX_BUNDLE_BYTES: u64 = 1 << 30;

/// Why an update cannot be done; `code()` is the API's stable error code.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("updates are not available on this system: {0}")]
    Unavailable(String),
    #[error("another update is being received or installed")]
    Busy,
    #[error("the bundle is larger than {max} bytes")]
    TooLarge { max: u64 },
    #[error("not enough space for the bundle: {needed} bytes needed, {free} free")]
    NoSpace { needed: u64, free: u64 },
    #[error("the bundle was refused before anything was written: {0}")]
    Rejected(String),
    #[error("the bundle is for {bundle}, this system is {system}")]
    Incompatible { bundle: String, system: String },
    #[error("the bundle upload was interrupted: {0}")]
    Interrupted(String),
    #[error("update I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl UpdateError {
    /// Stable code for the API and the page.
    pub fn code(&self) -> &'static str {
        match self {
            UpdateError::Unavailable(_) => "UPDATE_UNAVAILABLE",
            UpdateError::Busy => "UPDATE_IN_PROGRESS",
            UpdateError::TooLarge { .. } => "UPDATE_BUNDLE_TOO_LARGE",
            UpdateError::NoSpace { .. } => "UPDATE_NO_SPACE",
            UpdateError::Rejected(_) => "UPDATE_BUNDLE_REJECTED",
            UpdateError::Incompatible { .. } => "UPDATE_BUNDLE_INCOMPATIBLE",
            UpdateError::Interrupted(_) => "UPDATE_UPLOAD_INTERRUPTED",
            UpdateError::Io(_) => "UPDATE_IO_FAILED",
        }
    }
}

/// Where an install stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstallPhase {
    /// Nothing since the server started.
    Idle,
    /// A bundle is being uploaded.
    Receiving,
    /// Its signature and board are being checked; nothing is written yet.
    Verifying,
    /// RAUC is writing the slot group that is not booted.
    Installing,
    /// Written and made the next boot's slot: reboot to run it.
    Installed,
    /// Refused (nothing written) or failed while writing (that slot is marked bad).
    Failed,
}

/// The current or last install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InstallState {
    pub phase: InstallPhase,
    /// 0–100 while installing, from RAUC.
    pub percentage: u8,
    /// RAUC's last progress message.
    pub message: Option<String>,
    /// Version of the bundle, once verified.
    pub version: Option<String>,
    /// Why it was refused or failed.
    pub error: Option<String>,
    /// Stable code of that error (as in the API's problem documents).
    pub error_code: Option<String>,
}

impl InstallState {
    const IDLE: InstallState = InstallState {
        phase: InstallPhase::Idle,
        percentage: 0,
        message: None,
        version: None,
        error: None,
        error_code: None,
    };

    fn busy(&self) -> bool {
        matches!(
            self.phase,
            InstallPhase::Receiving | InstallPhase::Verifying | InstallPhase::Installing
        )
    }
}

/// One bootable slot as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlotView {
    /// "A" or "B".
    pub name: String,
    /// The box runs from this slot.
    pub booted: bool,
    /// The boot loader boots this slot next.
    pub primary: bool,
    /// Marked good (it came up and answered /api/ready) and not on trial.
    pub good: bool,
    /// The release in the slot, when known: from RAUC for slots it wrote, from the running
    /// system for the booted one.
    pub version: Option<String>,
    /// When RAUC wrote it (RFC 3339).
    pub installed_at: Option<String>,
}

/// `GET /api/system/update`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpdateStatus {
    /// This box installs update bundles (an appliance with RAUC).
    pub available: bool,
    /// Why not, when not available.
    pub reason: Option<String>,
    /// The board; a bundle must be made for it.
    pub compatible: Option<String>,
    /// The slot the box runs from.
    pub booted_slot: Option<String>,
    /// The booted slot is marked good (false while it is on trial after an update).
    pub booted_good: bool,
    pub slots: Vec<SlotView>,
    pub install: InstallState,
}

/// The update controller of this machine.
pub struct Updater {
    rauc: PathBuf,
    reboot: PathBuf,
    upload_dir: PathBuf,
    release_file: PathBuf,
    state: watch::Sender<InstallState>,
}

/// The process's updater: `rauc` and `reboot` from PATH, uploads in the temporary directory
/// (a RAM disk on the appliance, never /data).
pub fn shared() -> &'static Updater {
    static SHARED: OnceLock<Updater> = OnceLock::new();
    SHARED.get_or_init(|| Updater {
        rauc: PathBuf::from("rauc"),
        reboot: PathBuf::from("reboot"),
        upload_dir: std::env::temp_dir(),
        release_file: PathBuf::from("/etc/alchemist-release"),
        state: watch::channel(InstallState::IDLE).0,
    })
}

impl Updater {
    /// The install state now, and every change after (progress over SSE).
    pub fn subscribe(&self) -> watch::Receiver<InstallState> {
        self.state.subscribe()
    }

    /// RAUC's view of the system; `Unavailable` off an appliance.
    pub async fn rauc_status(&self) -> Result<rauc::RaucStatus, UpdateError> {
        let out = self
            .rauc(&["status", "--detailed", "--output-format=json"])
            .await?;
        rauc::parse_status(&out).map_err(|e| UpdateError::Unavailable(e.to_string()))
    }

    /// The slots, versions and the current or last install.
    pub async fn status(&self) -> UpdateStatus {
        let install = self.state.borrow().clone();
        let rauc = match self.rauc_status().await {
            Ok(s) => s,
            Err(e) => {
                return UpdateStatus {
                    available: false,
                    reason: Some(e.to_string()),
                    compatible: None,
                    booted_slot: None,
                    booted_good: false,
                    slots: Vec::new(),
                    install,
                };
            }
        };
        let running = std::fs::read_to_string(&self.release_file)
            .ok()
            .map(|s| s.trim().to_string());
        let slots: Vec<SlotView> = rauc
            .slots
            .iter()
            .map(|s| {
                let booted = rauc.booted.as_deref() == Some(s.bootname.as_str());
                SlotView {
                    name: s.bootname.clone(),
                    booted,
                    primary: rauc.boot_primary.as_deref() == Some(s.name.as_str()),
                    good: s.good,
                    // The running system knows its own release even when RAUC never wrote it.
                    version: if booted {
                        running.clone().or_else(|| s.version.clone())
                    } else {
                        s.version.clone()
                    },
                    installed_at: s.installed_at.clone(),
                }
            })
            .collect();
        UpdateStatus {
            available: true,
            reason: None,
            compatible: Some(rauc.compatible),
            booted_slot: rauc.booted.clone(),
            booted_good: slots.iter().any(|s| s.booted && s.good),
            slots,
            install,
        }
    }

    /// Restart the box (into the slot the boot loader picks), shortly after the caller had
    /// time to answer; refused while an update is being received or installed.
    pub async fn reboot(&self) -> Result<(), UpdateError> {
        self.rauc_status().await?;
        if self.state.borrow().busy() {
            return Err(UpdateError::Busy);
        }
        let program = self.reboot.clone();
        tokio::spawn(async move {
            // Long enough for the HTTP answer to leave; init then stops the service cleanly.
            tokio::time::sleep(Duration::from_secs(1)).await;
            tracing::warn!("rebooting on request");
            if let Err(e) = crate::process::output(&program, &[], QUERY_TIMEOUT).await {
                tracing::error!(error = %e, "reboot failed");
            }
        });
        Ok(())
    }

    /// Run `rauc ARGS…`; its standard output, or `Unavailable` with what it said.
    async fn rauc(&self, args: &[&str]) -> Result<String, UpdateError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let out = crate::process::output(&self.rauc, &args, QUERY_TIMEOUT)
            .await
            .map_err(|e| UpdateError::Unavailable(format!("rauc: {e}")))?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(UpdateError::Unavailable(said));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
