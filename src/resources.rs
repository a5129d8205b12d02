//! This box's live telemetry (`/api/system/resources` and the system page): one long-lived
//! `sysinfo` state refreshed on request (CPU usage is a delta between two refreshes),
//! temperatures from hwmon and thermal zones plus any the caller adds (the board's LM75 is read
//! over i2c-dev, which sysinfo does not list), GPU busy percent where the kernel exposes it
//! (`gpu_busy_percent`, amdgpu and i915), uptime and this process's RSS.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GpuBusy {
    pub device: String,
    pub busy_percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Temperature {
    pub sensor: String,
    pub celsius: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Resources {
    pub cpu_percent: f64,
    pub load_average: [f64; 3],
    pub memory_used_bytes: u64,
    pub memory_total_bytes: u64,
    pub gpu: Vec<GpuBusy>,
    pub temperatures: Vec<Temperature>,
    pub uptime_seconds: u64,
    pub process_rss_bytes: u64,
}

/// Handle to the sampler. Cheap to clone.
#[derive(Clone)]
pub struct ResourceMonitor {
    monitor: Arc<Mutex<Monitor>>,
    started: Instant,
}

impl ResourceMonitor {
    /// Uptime counts from now.
    pub fn new() -> ResourceMonitor {
        ResourceMonitor {
            monitor: Arc::new(Mutex::new(Monitor {
                system: sysinfo::System::new().ok(),
            })),
            started: Instant::now(),
        }
    }

    /// Seconds since the server started.
    pub fn uptime_seconds(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Take a sample (on the blocking pool: it reads /proc and /sys), with `extra` sensors.
    pub async fn sample(&self, extra: Vec<Temperature>) -> Resources {
        let (monitor, uptime) = (self.monitor.clone(), self.uptime_seconds());
        let sampled = tokio::task::spawn_blocking(move || {
            monitor
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .sample(uptime)
        })
        .await;
        let mut sample = sampled.unwrap_or_else(|_| Resources::empty(uptime));
        sample.temperatures.extend(extra);
        sample
    }
}

impl Default for ResourceMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl Resources {
    fn empty(uptime_seconds: u64) -> Resources {
        Resources {
            cpu_percent: 0.0,
            load_average: [0.0; 3],
            memory_used_bytes: 0,
            memory_total_bytes: 0,
            gpu: Vec::new(),
            temperatures: Vec::new(),
            uptime_seconds,
            process_rss_bytes: 0,
        }
    }
}

struct Monitor {
    system: Option<sysinfo::System>,
}

impl Monitor {
    fn sample(&mut self, uptime_seconds: u64) -> Resources {
        let (cpu_percent, used, total, rss) = match self.system.as_mut() {
            Some(sys) => {
                sys.refresh_cpu_usage();
                sys.refresh_memory();
                let pid = sysinfo::Pid::from_u32(std::process::id());
                sys.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), false);
                let rss = sys.process(pid).map(|p| p.memory()).unwrap_or(0);
                (
                    sys.global_cpu_usage() as f64,
                    sys.used_memory(),
                    sys.total_memory(),
                    rss,
                )
            }
            None => (0.0, 0, 0, 0),
        };
        let load = sysinfo::System::load_average().ok();
        let temperatures = sysinfo::Components::new_with_refreshed_list()
            .map(|c| {
                c.iter()
                    .filter_map(|c| {
                        c.temperature().map(|t| Temperature {
                            sensor: c.label().to_string(),
                            celsius: t as f64,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Resources {
            cpu_percent,
            load_average: load.map(|l| [l.one, l.five, l.fifteen]).unwrap_or([0.0; 3]),
            memory_used_bytes: used,
            memory_total_bytes: total,
            gpu: gpu_busy(),
            temperatures,
            uptime_seconds,
            process_rss_bytes: rss,
        }
    }
}

fn gpu_busy() -> Vec<GpuBusy> {
    let Ok(entries) = std::fs::read_dir("/sys/class/drm") else {
        return Vec::new();
    };
    let mut out: Vec<GpuBusy> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("card") && !name.contains('-')
        })
        .map(|e| {
            let busy = std::fs::read_to_string(e.path().join("device/gpu_busy_percent"))
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok());
            GpuBusy {
                device: format!("/dev/dri/{}", e.file_name().to_string_lossy()),
                busy_percent: busy,
            }
        })
        .collect();
    out.sort_by(|a, b| a.device.cmp(&b.device));
    out
}
