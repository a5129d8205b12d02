//! Finds VAAPI render nodes: every `renderD*` under `/dev/dri` or `/sys/class/drm`, with what
//! sysfs says about the GPU behind it (bus, PCI vendor/device, kernel driver, device-tree
//! `compatible` for non-PCI SoC GPUs) and whether this process may open it. Both roots are
//! parameters ([`Roots`]) so tests point them at a temp tree shaped like sysfs. Reads files
//! only; it never talks to the GPU.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where to look; [`Roots::system`] in production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// `/sys/class/drm`
    pub sys_class_drm: PathBuf,
    /// `/dev/dri`
    pub dev_dri: PathBuf,
    /// `/dev`, where V4L2 `video*` nodes are.
    pub dev: PathBuf,
}

impl Roots {
    pub fn system() -> Roots {
        Roots {
            sys_class_drm: PathBuf::from("/sys/class/drm"),
            dev_dri: PathBuf::from("/dev/dri"),
            dev: PathBuf::from("/dev"),
        }
    }
}

/// Whether the node could be opened read-write, as ffmpeg opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeAccess {
    Ok,
    PermissionDenied,
    /// Listed in sysfs but absent from /dev/dri (typical of a container without the device).
    Missing,
    /// Some other error; the probe will say more.
    Error,
}

/// One DRM render node and the device behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RenderNode {
    /// Device path, e.g. `/dev/dri/renderD128`.
    pub path: String,
    /// "pci", "platform"… (the device's subsystem); `None` when sysfs has no entry.
    pub bus: Option<String>,
    /// PCI vendor id as sysfs writes it ("0x8086"); `None` for non-PCI devices.
    pub vendor: Option<String>,
    /// PCI device id ("0x4e61").
    pub device: Option<String>,
    /// Kernel driver bound to the device: i915, xe, amdgpu, panfrost…
    pub kernel_driver: Option<String>,
    /// First device-tree `compatible` string of a platform GPU ("rockchip,rk3588-mali").
    pub compatible: Option<String>,
    pub access: NodeAccess,
}

impl RenderNode {
    /// "Intel", "AMD" or "NVIDIA" from the PCI vendor id.
    pub fn vendor_name(&self) -> Option<&'static str> {
        match self.vendor.as_deref()? {
            "0x8086" => Some("Intel"),
            "0x1002" => Some("AMD"),
            "0x10de" => Some("NVIDIA"),
            _ => None,
        }
    }

    /// One line for reports and the fingerprint: path, bus, ids and driver.
    pub fn describe(&self) -> String {
        let mut s = self.path.clone();
        for part in [
            self.bus.as_deref(),
            self.vendor.as_deref(),
            self.device.as_deref(),
            self.kernel_driver.as_deref(),
            self.compatible.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            s.push(' ');
            s.push_str(part);
        }
        s
    }
}

/// Render nodes, sorted by name (renderD128 first).
pub fn render_nodes(roots: &Roots) -> Vec<RenderNode> {
    let mut names = BTreeSet::new();
    for dir in [&roots.dev_dri, &roots.sys_class_drm] {
        names.extend(render_names(dir));
    }
    names.into_iter().map(|name| node(roots, &name)).collect()
}

fn render_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            n.strip_prefix("renderD")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

fn node(roots: &Roots, name: &str) -> RenderNode {
    let dev = roots.dev_dri.join(name);
    let sys = roots.sys_class_drm.join(name).join("device");
    RenderNode {
        path: dev.display().to_string(),
        bus: link_name(&sys.join("subsystem")),
        vendor: read_trimmed(&sys.join("vendor")),
        device: read_trimmed(&sys.join("device")),
        kernel_driver: link_name(&sys.join("driver")),
        compatible: fs::read(sys.join("of_node/compatible")).ok().and_then(|b| {
            // A NUL-separated list, most specific first.
            let first = b.split(|c| *c == 0).next()?;
            let s = String::from_utf8_lossy(first).trim().to_string();
            (!s.is_empty()).then_some(s)
        }),
        access: access(&dev),
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    let s = fs::read_to_string(path).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// The last component of a symlink's target (`driver -> ../../bus/pci/drivers/i915` → i915).
fn link_name(path: &Path) -> Option<String> {
    let target = fs::read_link(path).ok()?;
    target.file_name()?.to_str().map(str::to_string)
}

/// Open the node read-write and close it again: the same check ffmpeg's `open(O_RDWR)` makes.
fn access(dev: &Path) -> NodeAccess {
    match fs::OpenOptions::new().read(true).write(true).open(dev) {
        Ok(_) => NodeAccess::Ok,
        Err(e) => match e.kind() {
            io::ErrorKind::PermissionDenied => NodeAccess::PermissionDenied,
            io::ErrorKind::NotFound => NodeAccess::Missing,
            _ => NodeAccess::Error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A temp tree shaped like sysfs and /dev: an Intel PCI GPU, a Mali platform GPU, a card
    /// node (not a render node) and a node that sysfs lists but /dev lacks.
    fn tree() -> (tempfile::TempDir, Roots) {
        let tmp = tempfile::tempdir().unwrap();
        let sys = tmp.path().join("sys/class/drm");
        let dev = tmp.path().join("dev/dri");
        let devices = tmp.path().join("sys/devices");
        fs::create_dir_all(&dev).unwrap();
        let pci = devices.join("pci0000:00/0000:00:02.0");
        fs::create_dir_all(&pci).unwrap();
        fs::write(pci.join("vendor"), "0x8086\n").unwrap();
        fs::write(pci.join("device"), "0x4e61\n").unwrap();
        symlink("../../../bus/pci/drivers/i915", pci.join("driver")).unwrap();
        symlink("../../../bus/pci", pci.join("subsystem")).unwrap();
        let soc = devices.join("platform/fb000000.gpu");
        fs::create_dir_all(soc.join("of_node")).unwrap();
        fs::write(
            soc.join("of_node/compatible"),
            b"rockchip,rk3588-mali\0arm,mali-valhall-csf\0",
        )
        .unwrap();
        symlink("../../../bus/platform/drivers/panthor", soc.join("driver")).unwrap();
        symlink("../../../bus/platform", soc.join("subsystem")).unwrap();
        for (name, target) in [
            ("renderD128", &pci),
            ("renderD129", &soc),
            ("card0", &pci),
            ("renderD130", &pci),
        ] {
            fs::create_dir_all(sys.join(name)).unwrap();
            symlink(target, sys.join(name).join("device")).unwrap();
        }
        for name in ["renderD128", "renderD129", "card0"] {
            fs::write(dev.join(name), b"").unwrap();
        }
        let roots = Roots {
            sys_class_drm: sys,
            dev_dri: dev,
            dev: tmp.path().join("dev"),
        };
        (tmp, roots)
    }

    #[test]
    fn pci_and_platform_nodes_from_a_fake_sysfs() {
        let (_tmp, roots) = tree();
        let nodes = render_nodes(&roots);
        let paths: Vec<&str> = nodes
            .iter()
            .map(|n| n.path.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(paths, ["renderD128", "renderD129", "renderD130"]);
        let intel = &nodes[0];
        assert_eq!(intel.bus.as_deref(), Some("pci"));
        assert_eq!(intel.vendor.as_deref(), Some("0x8086"));
        assert_eq!(intel.device.as_deref(), Some("0x4e61"));
        assert_eq!(intel.kernel_driver.as_deref(), Some("i915"));
        assert_eq!(intel.vendor_name(), Some("Intel"));
        assert_eq!(intel.compatible, None);
        assert_eq!(intel.access, NodeAccess::Ok);
        assert!(
            intel
                .describe()
                .ends_with("renderD128 pci 0x8086 0x4e61 i915")
        );
        let mali = &nodes[1];
        assert_eq!(mali.bus.as_deref(), Some("platform"));
        assert_eq!(
            (mali.vendor.as_deref(), mali.device.as_deref()),
            (None, None)
        );
        assert_eq!(mali.kernel_driver.as_deref(), Some("panthor"));
        assert_eq!(mali.compatible.as_deref(), Some("rockchip,rk3588-mali"));
        assert_eq!(mali.vendor_name(), None);
        assert_eq!(nodes[2].access, NodeAccess::Missing);
    }

    #[test]
    fn dev_nodes_without_sysfs_and_nothing_at_all() {
        let tmp = tempfile::tempdir().unwrap();
        let dev = tmp.path().join("dri");
        fs::create_dir_all(&dev).unwrap();
        fs::write(dev.join("renderD128"), b"").unwrap();
        fs::write(dev.join("renderDx"), b"").unwrap();
        let roots = Roots {
            sys_class_drm: tmp.path().join("no-sysfs"),
            dev_dri: dev,
            dev: tmp.path().join("no-dev"),
        };
        let nodes = render_nodes(&roots);
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].bus, None);
        assert_eq!(nodes[0].access, NodeAccess::Ok);
        let none = Roots {
            sys_class_drm: tmp.path().join("a"),
            dev_dri: tmp.path().join("b"),
            dev: tmp.path().join("c"),
        };
        assert!(render_nodes(&none).is_empty());
    }
}
