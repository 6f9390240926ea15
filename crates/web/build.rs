//! Embeds the curated scenario library (`scenarios/*.vmlab` at the repository root) into the app,
//! so the site needs no server and works offline. Files are listed in name order.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../../scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "vmlab"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("/// (file name, text) of every scenario in scenarios/.\npub static FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = f.canonicalize().unwrap_or_else(|_| f.clone());
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    // The golden traces go in a file of their own that only the determinism test includes.
    let mut golden = String::from("/// (scenario file name, golden trace) for every scenario with a checked-in `.trace`.\npub static GOLDEN: &[(&str, &str)] = &[\n");
    for f in &files {
        let trace = f.with_extension("trace");
        if trace.is_file() {
            println!("cargo:rerun-if-changed={}", trace.display());
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path = trace.canonicalize().unwrap_or(trace);
            writeln!(
                golden,
                "    ({name:?}, include_str!({:?})),",
                path.display().to_string()
            )
            .expect("writing to a String");
        }
    }
    golden.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("library_files.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("library_golden.rs");
    std::fs::write(dest, golden).expect("OUT_DIR is writable");
}
