//! `cargo xtask`: vmlab's developer commands (setup, serve, dist, test, bench, tidy), std only so
//! that it compiles in seconds on a fresh machine.

mod bench;
#[path = "../../crates/web/library_bundle.rs"]
mod library_bundle;
mod setup;
mod test;
mod tidy;
mod util;
mod wine;

use std::process::ExitCode;
use util::Ctx;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup   install what the web app, its tests and the Wine tests need (idempotent; a second run takes about a second)
  serve   setup, then build the web app and serve it on http://127.0.0.1:8080
  dist    setup, then write a release build of the web app to dist/
  test    every check: fmt, clippy, native tests, wasm build of the core, browser tests, the Windows
          backend under Wine, tidy, end-to-end
  wine    the Wine setup steps, then only the test stage of the Windows backend under Wine
  library write the scenario library as library.txt into Trunk's staging folder ($TRUNK_STAGING_DIR,
          or the folder given): Trunk's post-build hook runs it
  bench   core benchmarks and the web performance benchmark (prints figures)
  tidy    every .rs file opens with `//!`; vmlab-core depends on serde only
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ctx = Ctx::new();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::setup(&ctx),
        Some("serve") => setup::setup(&ctx).and_then(|()| serve(&ctx)),
        Some("dist") => setup::setup(&ctx).and_then(|()| dist(&ctx)),
        Some("test") => return test::test(&ctx),
        Some("wine") => wine::setup(&ctx).and_then(|()| wine::test(&ctx)),
        Some("bench") => bench::bench(&ctx),
        Some("library") => library(&ctx, args.get(1).map(String::as_str)),
        Some("tidy") => tidy::tidy(&ctx.root).map(|n| println!("tidy: {n} files checked")),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `trunk serve`: Trunk.toml pins the address and port; offline mode needs the crates fetched first.
fn serve(ctx: &Ctx) -> Result<(), String> {
    ctx.run("cargo", &["fetch"])?;
    println!("\nvmlab: serving the web app on http://127.0.0.1:8080 (Ctrl-C stops)\n");
    ctx.run(
        "trunk",
        &["serve", "--address", "127.0.0.1", "--port", "8080"],
    )
}

/// `trunk build --release` into dist/, which any static host serves (python3 -m http.server works).
pub fn dist(ctx: &Ctx) -> Result<(), String> {
    ctx.run("cargo", &["fetch"])?;
    ctx.run("trunk", &["build", "--release"])?;
    println!("vmlab: wrote {}", ctx.root.join("dist").display());
    Ok(())
}

/// `library.txt` (crates/web/library_bundle.rs) into `dir`, or Trunk's staging folder when run as
/// its hook; the app fetches it beside the wasm.
fn library(ctx: &Ctx, dir: Option<&str>) -> Result<(), String> {
    let dir = match dir {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::var_os("TRUNK_STAGING_DIR")
            .map(std::path::PathBuf::from)
            .ok_or("library: give a folder, or run as Trunk's hook (TRUNK_STAGING_DIR)")?,
    };
    let (bundle, files) = library_bundle::bundle(&ctx.root.join("scenarios"))?;
    let out = dir.join("library.txt");
    std::fs::write(&out, bundle).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("vmlab: wrote {} ({} scenarios)", out.display(), files.len());
    Ok(())
}
