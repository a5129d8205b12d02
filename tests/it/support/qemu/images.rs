//! Where the appliance images are, building them when missing. `bash .ci/dev test` runs
//! `image/build` before `cargo test`, so CI always boots images of the tree under test; a
//! developer who runs `cargo test` alone gets them built once here (and rebuilds by running
//! `bash image/build` after changing the code). No silent skip: a failed build fails the test
//! with the script's output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::Arch;

/// Cargo profile the tests build the static binaries with when they have to build.
const TEST_PROFILE: &str = "static-ci";

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn out_dir() -> PathBuf {
    repo().join("target/image")
}

/// Parts of one built image.
pub struct Built {
    pub image: PathBuf,
    pub parts: PathBuf,
}

impl Built {
    pub fn part(&self, name: &str) -> PathBuf {
        self.parts.join(name)
    }
    pub fn layout(&self, key: &str) -> u64 {
        let text = std::fs::read_to_string(self.part("layout")).expect("layout file");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} missing from the layout file"))
    }
}

fn complete(arch: Arch) -> bool {
    let dir = out_dir();
    [
        format!("alchemist-{}.img", arch.name()),
        format!("alchemist-{}.img.zst", arch.name()),
        format!("{}/layout", arch.name()),
        format!("{}/alchemist", arch.name()),
    ]
    .iter()
    .all(|f| dir.join(f).is_file())
}

/// The image for `arch`, built by `image/build` if it is not there yet.
pub fn image(arch: Arch) -> Built {
    static BUILD: OnceLock<()> = OnceLock::new();
    if !complete(Arch::X86_64) || !complete(Arch::Aarch64) {
        BUILD.get_or_init(|| build(None, &out_dir()));
    }
    Built {
        image: out_dir().join(format!("alchemist-{}.img", arch.name())),
        parts: out_dir().join(arch.name()),
    }
}

/// Run image/build; `release` overrides the version stamp. Panics with its output on failure.
pub fn build(release: Option<&str>, out: &Path) {
    build_arch(release, out, "all")
}

/// Run image/build for one architecture ("x86_64", "aarch64" or "all") into `out`.
pub fn build_arch(release: Option<&str>, out: &Path, arch: &str) {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("image/build")).arg(arch);
    cmd.env("ALCHEMIST_IMAGE_OUT", out);
    if std::env::var_os("ALCHEMIST_PROFILE").is_none() {
        cmd.env("ALCHEMIST_PROFILE", TEST_PROFILE);
    }
    if let Some(r) = release {
        cmd.env("ALCHEMIST_RELEASE", r);
    }
    let out = cmd.output().expect("run image/build");
    assert!(
        out.status.success(),
        "image/build failed; run `bash .ci/dev test` (installs the packages) or \
         `bash image/build` to see why:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The out-of-tree test modules for the x86_64 image's kernel (image/modules), built when
/// missing. Returns their directory.
pub fn modules_x86_64() -> PathBuf {
    static BUILD: OnceLock<()> = OnceLock::new();
    let dir = out_dir().join("modules-x86_64");
    if !dir.join("vicodec.ko").is_file()
        || !dir.join("videodev.ko").is_file()
        || !dir.join("configfs.ko").is_file()
    {
        BUILD.get_or_init(|| {
            let out = Command::new("bash")
                .arg(repo().join("image/modules"))
                .output()
                .expect("run image/modules");
            assert!(
                out.status.success(),
                "image/modules failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
    }
    dir
}
