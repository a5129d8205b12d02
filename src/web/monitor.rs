//! Live telemetry for `/api/system/resources`: one long-lived `sysinfo` state refreshed on
//! request (CPU usage is a delta between two refreshes), temperatures from hwmon and thermal
//! zones, GPU busy percent where the kernel exposes it (`gpu_busy_percent`, amdgpu and i915).

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

pub struct Monitor {
    system: Option<sysinfo::System>,
}

impl Monitor {
    pub fn new() -> Monitor {
        Monitor {
            system: sysinfo::System::new().ok(),
        }
    }

    /// Take a sample. Blocking (reads /proc and /sys); call from `spawn_blocking`.
    pub fn sample(&mut self, uptime_seconds: u64) -> Resources {
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
