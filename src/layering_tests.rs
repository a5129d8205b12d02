//! The module map of `lib.rs`, enforced: dependencies run downwards (`web` → `engine` →
//! `media`, `hw` → `process`), the pages reach the API's logic only through the services
//! both use, `hw` returns what it found and never writes the store, and `store`, `events`,
//! `config` and `model` import none of the layers above them. A `use` that breaks the map
//! fails here, with the file and line, instead of in a review.

use std::path::{Path, PathBuf};

/// (the folder whose files are checked, what none of them may name, why)
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "web/pages",
        &["web::api", "super::api", "super::super::api"],
        "pages use the services (`engine`, `web::maintenance`, ...), not the API's handlers",
    ),
    (
        "hw",
        &["crate::store", "crate::engine", "crate::web"],
        "hw returns a value; the engine keeps it",
    ),
    (
        "media",
        &["crate::engine", "crate::web", "crate::store"],
        "media is below the engine",
    ),
    (
        "engine",
        &["crate::web"],
        "the engine knows nothing of HTTP",
    ),
    (
        "process",
        &[
            "crate::engine",
            "crate::web",
            "crate::media",
            "crate::store",
        ],
        "process is the bottom layer",
    ),
];

/// Folders (or single-file modules) that import none of the layers above them.
const BOTTOM: &[&str] = &["store", "events", "config", "model"];
const ABOVE: &[&str] = &["crate::web", "crate::engine", "crate::media", "crate::hw::"];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// Every line of the module `name` (its folder, or `name.rs`) naming one of `forbidden`.
fn offending(name: &str, forbidden: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join(name), &mut files);
    rust_files(&src.join(format!("{name}.rs")), &mut files);
    assert!(!files.is_empty(), "no module {name} in src");
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if let Some(bad) = forbidden.iter().find(|f| code.contains(*f)) {
                let shown = file.strip_prefix(&src).unwrap_or(&file).display();
                out.push(format!("src/{shown}:{}: names {bad}: {}", n + 1, code));
            }
        }
    }
    out
}

#[test]
fn each_layer_imports_only_what_is_below_it() {
    let mut broken = Vec::new();
    for (name, forbidden, why) in RULES {
        for line in offending(name, forbidden) {
            broken.push(format!("{line}\n    ({why})"));
        }
    }
    for name in BOTTOM {
        for line in offending(name, ABOVE) {
            broken.push(format!(
                "{line}\n    ({name} imports none of the layers above it)"
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "the module map is broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_check_finds_what_it_looks_for() {
    // The rules are only worth something if a match is seen: the API's own files name
    // `web::api`-style paths the pages may not.
    assert!(!offending("web/api", &["crate::web::"]).is_empty());
}
