//! Embeds the demo knowledge base and the search benchmark's queries, so the
//! binary seeds and measures the same content wherever it runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push((rel.to_string_lossy().replace('\\', "/"), p.clone()));
        }
    }
}

fn table(name: &str, root: &Path, code: &mut String) {
    // A directory is watched with everything under it.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut found = Vec::new();
    files(root, root, &mut found);
    found.sort();
    let _ = writeln!(code, "pub static {name}: &[(&str, &str)] = &[");
    for (rel, path) in found {
        let _ = writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    let _ = writeln!(code, "];");
}

fn main() -> std::io::Result<()> {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut code = String::new();
    table("DEMO_KB", &here.join("demo/kb"), &mut code);
    table(
        "SEARCH_QUERIES",
        &here.join("bench/search-queries"),
        &mut code,
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("embedded.rs");
    std::fs::write(out, code)
}
