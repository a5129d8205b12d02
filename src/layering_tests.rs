//! The module map of `lib.rs`, enforced: dependencies run downwards (`web` → `engine` →
//! `media`, `hw` → `process`), the pages and the API's handlers share the services of
//! `web::maintenance` instead of the pages reaching into `web::api`, `hw` returns what it
//! found and never writes the store, and `store`, `events`, `config` and `model` import none
//! of the layers above them. Every path a file names is resolved to where it points: `use`
//! trees expanded (groups, nesting, several lines, `as`), `super::` and `self::` resolved from
//! the file's module, and paths written inline in code. A path that breaks the map fails
//! here, with the file and line, instead of in a review.

use std::path::{Path, PathBuf};

/// (the module whose files are checked, what none of them may name, why)
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "web::pages",
        &["crate::web::api"],
        "pages use the services (`engine`, `web::maintenance`, ...), not the API's handlers",
    ),
    (
        "web::maintenance",
        &["crate::web::api", "crate::web::pages"],
        "the services the API and the pages share use neither",
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
            "crate::hw",
        ],
        "process is the bottom layer",
    ),
    ("store", ABOVE, "store imports none of the layers above it"),
    (
        "events",
        ABOVE,
        "events imports none of the layers above it",
    ),
    (
        "config",
        ABOVE,
        "config imports none of the layers above it",
    ),
    ("model", ABOVE, "model imports none of the layers above it"),
];

const ABOVE: &[&str] = &[
    "crate::web",
    "crate::engine",
    "crate::media",
    "crate::hw",
    "crate::process",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The module a file under `src` is (`web/pages/jobs.rs` → `crate::web::pages::jobs`,
/// `web/pages/mod.rs` → `crate::web::pages`). A test file included with `#[path]` is taken
/// as a sibling of the module it tests, which is one level off for its `super::`: within its
/// own layer.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = vec!["crate".into()];
    for c in relative.with_extension("").components() {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// `path` (`crate::…`, `super::…`, `self::…`, or anything else) as an absolute path, from
/// within `module`; `None` for a path outside the crate (`std::…`, another crate).
fn resolve(path: &str, module: &[String]) -> Option<String> {
    let mut segments = path.split("::").filter(|s| !s.is_empty()).peekable();
    let mut at: Vec<String> = match segments.peek().copied() {
        Some("crate") => {
            segments.next();
            vec!["crate".into()]
        }
        Some("super" | "self") => module.to_vec(),
        _ => return None,
    };
    while let Some(s) = segments.peek().copied() {
        match s {
            "super" => {
                at.pop();
            }
            "self" => {}
            _ => break,
        }
        segments.next();
    }
    at.extend(segments.map(str::to_string));
    Some(at.join("::"))
}

/// Split `text` at the commas outside braces.
fn split_top(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// A `use` tree without whitespace (`crate::web::{api::x,AppState}`) as the paths it names.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let join = |p: &str, rest: &str| {
        if p.is_empty() {
            rest.to_string()
        } else if rest.is_empty() {
            p.to_string()
        } else {
            format!("{p}::{rest}")
        }
    };
    match tree.find('{') {
        Some(open) if tree.ends_with('}') => {
            let head = tree[..open].trim_end_matches("::");
            let prefix = join(prefix, head);
            for part in split_top(&tree[open + 1..tree.len() - 1]) {
                expand(&prefix, part, out);
            }
        }
        _ => out.push(join(prefix, tree)),
    }
}

/// Where a code line's comment starts, if it has one outside a string.
fn code_part(line: &str) -> &str {
    let mut in_string = false;
    let bytes = line.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Every crate path a file names, absolute, with the line it is on: each `use` statement
/// expanded, and every `crate::`, `super::` or `self::` path written in code.
fn named_paths(text: &str, module: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut statement: Option<(usize, String)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = code_part(raw);
        let trimmed = line.trim_start();
        let starts_use = trimmed.starts_with("use ")
            || trimmed.starts_with("pub use ")
            || (trimmed.starts_with("pub(") && trimmed.contains(") use "));
        if statement.is_none() && starts_use {
            let from = trimmed.find("use ").unwrap() + 4;
            statement = Some((n + 1, trimmed[from..].to_string()));
        } else if let Some((_, s)) = statement.as_mut() {
            s.push(' ');
            s.push_str(trimmed);
        }
        if let Some((at, s)) = statement.take_if(|(_, s)| s.contains(';')) {
            let body = s.split(';').next().unwrap_or_default();
            // `x as y` names `x`; then no whitespace is left to matter.
            let words: Vec<&str> = body.split_whitespace().collect();
            let mut tree = String::new();
            let mut i = 0;
            while i < words.len() {
                if words[i] == "as" {
                    i += 2;
                    continue;
                }
                tree.push_str(words[i]);
                i += 1;
            }
            let mut paths = Vec::new();
            expand("", &tree, &mut paths);
            out.extend(
                paths
                    .iter()
                    .filter_map(|p| resolve(p, module))
                    .map(|p| (at, p)),
            );
            continue;
        }
        if statement.is_some() || starts_use {
            continue;
        }
        // Paths written inline: `crate::web::api::x()`, `super::super::api::Y`.
        for start in ["crate::", "super::", "self::"] {
            let mut from = 0;
            while let Some(i) = line[from..].find(start) {
                let at = from + i;
                let before = line[..at].chars().next_back();
                from = at + start.len();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let end = line[at..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .map_or(line.len(), |e| at + e);
                if let Some(p) = resolve(line[at..end].trim_end_matches(':'), module) {
                    out.push((n + 1, p));
                }
            }
        }
    }
    out
}

/// Whether `path` is `prefix` or inside it.
fn under(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}::"))
}

#[test]
fn each_layer_imports_only_what_is_below_it() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = module_of(relative);
        let name = module.join("::");
        let rules: Vec<_> = RULES
            .iter()
            .filter(|(m, ..)| under(&name, &format!("crate::{m}")))
            .collect();
        if rules.is_empty() {
            continue;
        }
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for (line, path) in named_paths(&text, &module) {
            for (_, forbidden, why) in &rules {
                if let Some(bad) = forbidden.iter().find(|f| under(&path, f)) {
                    broken.push(format!(
                        "src/{}:{line}: names {path} ({bad}): {why}",
                        relative.display()
                    ));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} files fell under a rule");
    assert!(
        broken.is_empty(),
        "the module map is broken:\n{}",
        broken.join("\n")
    );
}

/// Every form a path can take is seen, from a page's module (`crate::web::pages::x`).
#[test]
fn every_form_of_a_path_is_resolved() {
    let module = module_of(Path::new("web/pages/x.rs"));
    let cases = [
        ("use crate::web::api::logs;", "crate::web::api::logs"),
        (
            "use crate::web::{api::logs, AppState};",
            "crate::web::api::logs",
        ),
        ("use super::super::{api, AppState};", "crate::web::api"),
        ("use crate::{web::{api}, store};", "crate::web::api"),
        (
            "use crate::web::{\n    api::x,\n    error,\n};",
            "crate::web::api::x",
        ),
        ("pub(crate) use crate::web::api as a;", "crate::web::api"),
        (
            "    let x = super::super::api::f(); // crate::nothing",
            "crate::web::api::f",
        ),
        (
            "    let n = crate::web::api::restore::MAX;",
            "crate::web::api::restore::MAX",
        ),
    ];
    for (text, want) in cases {
        let paths: Vec<String> = named_paths(text, &module)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        assert!(paths.iter().any(|p| p == want), "{text:?} gave {paths:?}");
    }
    // Comments, strings' `//` and other crates are not paths of ours.
    let quiet = "use std::path::Path; // crate::web::api\nlet u = \"http://x\"; // super::api";
    assert_eq!(named_paths(quiet, &module), Vec::new());
    assert_eq!(
        module_of(Path::new("web/pages/mod.rs")),
        ["crate", "web", "pages"]
    );
}
