//! Writes the scenario library (`scenarios/*.vmlab` at the repository root) as `library.txt` into
//! OUT_DIR for the tests to embed (the app itself fetches the same file beside its wasm: see
//! library_bundle.rs), and the golden traces for the determinism test.

#[path = "library_bundle.rs"]
mod library_bundle;

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../../scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let (bundle, files) = library_bundle::bundle(&dir).unwrap_or_else(|e| panic!("{e}"));
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("library.txt"), bundle).expect("OUT_DIR is writable");
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
        .join("library_golden.rs");
    std::fs::write(dest, golden).expect("OUT_DIR is writable");
}
