//! `cargo xtask setup`: installs what the web app, its tests and the Wine tests need (the Wine
//! steps are in `wine.rs`), each step checking first so
//! that a second run takes about a second. Nothing comes from GitHub: every tool is from crates.io,
//! npm or Debian (see shared/toolchain.md for why each pin is what it is).

use crate::util::{locked_version, run_cmd, Ctx};
use std::path::Path;
use std::time::Instant;

pub const TRUNK_VERSION: &str = "0.22.1";
/// The only wasm-opt that reads this rustc's output (Debian's 108 and crates.io's 116 do not).
pub const BINARYEN_VERSION: &str = "132.0.0";
/// Drives Debian's Chromium in the end-to-end test and the web benchmark; never downloads a browser.
pub const PLAYWRIGHT_VERSION: &str = "1.65.1";

pub fn setup(ctx: &Ctx) -> Result<(), String> {
    let t0 = Instant::now();
    wasm_target(ctx)?;
    trunk(ctx)?;
    wasm_bindgen(ctx)?;
    npm_tools(ctx)?;
    chromium(ctx)?;
    crate::wine::setup(ctx)?;
    eprintln!(
        "setup: everything installed ({:.1} s)",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn wasm_target(ctx: &Ctx) -> Result<(), String> {
    let installed = ctx
        .first_line("rustc", &["--print", "sysroot"])
        .is_some_and(|sysroot| {
            Path::new(&sysroot)
                .join("lib/rustlib/wasm32-unknown-unknown/lib")
                .is_dir()
        });
    if installed {
        eprintln!("setup: wasm32-unknown-unknown target present");
        return Ok(());
    }
    ctx.run("rustup", &["target", "add", "wasm32-unknown-unknown"])
}

fn trunk(ctx: &Ctx) -> Result<(), String> {
    let want = format!("trunk {TRUNK_VERSION}");
    if ctx.first_line("trunk", &["--version"]).as_deref() == Some(want.as_str()) {
        eprintln!("setup: {want} present");
        return Ok(());
    }
    eprintln!("setup: installing {want} (about 16 minutes on 2 cores)");
    // trunk 0.22 declares a newer rustc than it needs; --locked keeps its tested dependency set.
    ctx.run(
        "cargo",
        &[
            "install",
            "trunk",
            "--version",
            TRUNK_VERSION,
            "--locked",
            "--ignore-rust-version",
        ],
    )
}

fn wasm_bindgen(ctx: &Ctx) -> Result<(), String> {
    let version = locked_version(&ctx.root, "wasm-bindgen")?;
    let want = format!("wasm-bindgen {version}");
    let have = ctx.first_line("wasm-bindgen", &["--version"]);
    let runner = ctx.first_line("wasm-bindgen-test-runner", &["--version"]);
    if have.as_deref() == Some(want.as_str()) && runner.is_some() {
        eprintln!("setup: {want} present (matches Cargo.lock)");
        return Ok(());
    }
    eprintln!(
        "setup: installing wasm-bindgen-cli {version} to match Cargo.lock (about 3.5 minutes)"
    );
    // Without --locked: its lock file pins a webpki-roots version that the registry lacks.
    ctx.run(
        "cargo",
        &[
            "install",
            "wasm-bindgen-cli",
            "--version",
            &version,
            "--force",
        ],
    )
}

fn npm_tools(ctx: &Ctx) -> Result<(), String> {
    let tools = ctx.root.join(".tools");
    let modules = tools.join("node_modules");
    let ok = npm_version(&modules, "binaryen").as_deref() == Some(BINARYEN_VERSION)
        && npm_version(&modules, "playwright-core").as_deref() == Some(PLAYWRIGHT_VERSION)
        && modules.join(".bin/wasm-opt").exists();
    if ok {
        eprintln!("setup: binaryen {BINARYEN_VERSION} (wasm-opt) and playwright-core {PLAYWRIGHT_VERSION} present in .tools/");
        return Ok(());
    }
    std::fs::create_dir_all(&tools).map_err(|e| format!("creating {}: {e}", tools.display()))?;
    let manifest = format!(
        "{{\n  \"name\": \"vmlab-tools\",\n  \"private\": true,\n  \"description\": \"Written by cargo xtask setup: wasm-opt for trunk, playwright-core for the browser tests.\",\n  \"dependencies\": {{\n    \"binaryen\": \"{BINARYEN_VERSION}\",\n    \"playwright-core\": \"{PLAYWRIGHT_VERSION}\"\n  }}\n}}\n"
    );
    std::fs::write(tools.join("package.json"), manifest)
        .map_err(|e| format!("writing .tools/package.json: {e}"))?;
    let mut c = ctx.cmd(
        "npm",
        &["install", "--no-audit", "--no-fund", "--loglevel=error"],
    );
    c.current_dir(&tools);
    run_cmd(&mut c)
}

/// The `version` field of an installed npm package, read without starting node.
fn npm_version(modules: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(modules.join(package).join("package.json")).ok()?;
    let at = text.find("\"version\"")?;
    let rest = &text[at + "\"version\"".len()..];
    let start = rest.find('"')? + 1;
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_string())
}

fn chromium(ctx: &Ctx) -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        eprintln!("setup: chromium and chromedriver present");
        return Ok(());
    }
    eprintln!("setup: installing Debian's chromium and chromium-driver (about 80 s)");
    apt_get(ctx, &["update"])?;
    // Keep the recommends: they carry the fonts the screenshots need.
    apt_get(ctx, &["install", "-y", "chromium", "chromium-driver"])
}

/// `apt-get ARGS` (through sudo when not root), non-interactive.
pub fn apt_get(ctx: &Ctx, args: &[&str]) -> Result<(), String> {
    let root = ctx.first_line("id", &["-u"]).as_deref() == Some("0");
    let (program, prefix): (&str, &[&str]) = if root {
        ("apt-get", &[])
    } else {
        ("sudo", &["apt-get"])
    };
    let all: Vec<&str> = prefix.iter().copied().chain(args.iter().copied()).collect();
    let mut c = ctx.cmd(program, &all);
    c.env("DEBIAN_FRONTEND", "noninteractive");
    run_cmd(&mut c)
}
