//! The Windows backend under Wine: its setup steps (the windows-gnu target, mingw, Wine 8.0, the
//! bcryptprimitives.dll stub, one Wine prefix under the target directory), each checking first
//! so that a second run is fast, and the test stage that builds `vmlab-win-helper.exe` and runs
//! `crates/winos/tests/wine.rs` and `crates/os/tests/wine_check.rs` (shared/toolchain.md, "Windows backend under Wine").

use crate::util::{run_cmd, Ctx};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// Where the stub DLL and the prefix live: `<target dir>/wine`.
pub fn wine_dir(ctx: &Ctx) -> PathBuf {
    target_dir(ctx).join("wine")
}

fn target_dir(ctx: &Ctx) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                ctx.root.join(d)
            }
        }
        None => ctx.root.join("target"),
    }
}

fn prefix(ctx: &Ctx) -> PathBuf {
    wine_dir(ctx).join("prefix")
}

/// Every setup step, in order.
pub fn setup(ctx: &Ctx) -> Result<(), String> {
    windows_target(ctx)?;
    apt_tools(ctx)?;
    stub_dll(ctx)?;
    wine_prefix(ctx)
}

fn windows_target(ctx: &Ctx) -> Result<(), String> {
    let installed = ctx
        .first_line("rustc", &["--print", "sysroot"])
        .is_some_and(|sysroot| {
            Path::new(&sysroot)
                .join("lib/rustlib")
                .join(WINDOWS_TARGET)
                .join("lib")
                .is_dir()
        });
    if installed {
        eprintln!("setup: {WINDOWS_TARGET} target present");
        return Ok(());
    }
    ctx.run("rustup", &["target", "add", WINDOWS_TARGET])
}

/// mingw (to build the stub DLL, and the linker rustc uses for windows-gnu) and Wine 8.0.
fn apt_tools(ctx: &Ctx) -> Result<(), String> {
    let gcc = ctx.first_line(MINGW_GCC, &["--version"]).is_some();
    let wine = ctx
        .first_line("wine", &["--version"])
        .is_some_and(|v| v.starts_with("wine-8."));
    if gcc && wine {
        eprintln!("setup: {MINGW_GCC} and Wine 8 present");
        return Ok(());
    }
    eprintln!("setup: installing Debian's gcc-mingw-w64-x86-64 and wine, wine64 (about 45 s)");
    crate::setup::apt_get(ctx, &["update"])?;
    if !gcc {
        crate::setup::apt_get(ctx, &["install", "-y", "gcc-mingw-w64-x86-64"])?;
    }
    if !wine {
        // Without recommends: no 32-bit Wine, fonts or Gecko; the helper is a 64-bit console exe.
        crate::setup::apt_get(
            ctx,
            &["install", "-y", "--no-install-recommends", "wine", "wine64"],
        )?;
    }
    Ok(())
}

/// `bcryptprimitives.dll`, which Wine 8.0 lacks and Rust's std imports (ProcessPrng), built from
/// crates/winos/stub/ whenever the source is newer than the DLL.
fn stub_dll(ctx: &Ctx) -> Result<(), String> {
    let src = ctx.root.join("crates/winos/stub");
    let c = src.join("bcryptprimitives.c");
    let def = src.join("bcryptprimitives.def");
    let out = wine_dir(ctx).join("bcryptprimitives.dll");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(o), Some(a), Some(b)) = (mtime(&out), mtime(&c), mtime(&def)) {
        if o >= a && o >= b {
            eprintln!("setup: {} up to date", out.display());
            return Ok(());
        }
    }
    std::fs::create_dir_all(wine_dir(ctx))
        .map_err(|e| format!("creating {}: {e}", wine_dir(ctx).display()))?;
    let (o, c, d) = (
        out.display().to_string(),
        c.display().to_string(),
        def.display().to_string(),
    );
    ctx.run(
        MINGW_GCC,
        &["-O2", "-shared", "-s", "-o", &o, &c, &d, "-ladvapi32"],
    )
}

/// The environment of every Wine command: the prefix, no debug output, no Mono or Gecko
/// prompts, and the stub DLL's directory on WINEPATH.
pub fn wine_env(ctx: &Ctx, c: &mut std::process::Command) {
    let dlls = format!("Z:{}", wine_dir(ctx).display()).replace('/', "\\");
    c.env("WINEPREFIX", prefix(ctx))
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env("WINEPATH", dlls)
        .env("VMLAB_WINE_DLLS", wine_dir(ctx));
}

/// One prefix, made once by `wineboot -i` (13–20 s, about 700 MB); `system.reg` says it is done.
fn wine_prefix(ctx: &Ctx) -> Result<(), String> {
    let p = prefix(ctx);
    if p.join("system.reg").exists() {
        eprintln!("setup: Wine prefix {} present", p.display());
        return Ok(());
    }
    eprintln!("setup: making the Wine prefix {} (about 15 s)", p.display());
    let mut c = ctx.cmd("wineboot", &["-i"]);
    wine_env(ctx, &mut c);
    run_cmd(&mut c)?;
    // wineboot leaves its wineserver running for a few seconds; stop it now.
    let mut k = ctx.cmd("wineserver", &["-k"]);
    wine_env(ctx, &mut k);
    let _ = k.status();
    Ok(())
}

/// The test stage: lint the Windows code (the workspace's clippy stage builds for Linux, where
/// `win.rs` is cfg'd out), build the exe for windows-gnu, start one persistent wineserver (each helper
/// then starts in about 0.15 s instead of 1.3 s), run the Wine tests, and stop the server
/// whatever they did.
pub fn test(ctx: &Ctx) -> Result<(), String> {
    let t0 = Instant::now();
    ctx.run(
        "cargo",
        &[
            "clippy",
            "-p",
            "vmlab-winos",
            "--target",
            WINDOWS_TARGET,
            "--",
            "-D",
            "warnings",
        ],
    )?;
    ctx.run(
        "cargo",
        &["build", "-p", "vmlab-winos", "--target", WINDOWS_TARGET],
    )?;
    let exe = target_dir(ctx)
        .join(WINDOWS_TARGET)
        .join("debug/vmlab-win-helper.exe");
    let built = t0.elapsed().as_secs_f64();
    // A server left by an interrupted run would make `-p` fail: stop it first.
    let mut k = ctx.cmd("wineserver", &["-k"]);
    wine_env(ctx, &mut k);
    let _ = k.status();
    let mut server = ctx.cmd("wineserver", &["-p"]);
    wine_env(ctx, &mut server);
    run_cmd(&mut server)?;
    let mut c = ctx.cmd(
        "cargo",
        &[
            "test",
            "-p",
            "vmlab-winos",
            "--test",
            "wine",
            "--",
            "--ignored",
        ],
    );
    wine_env(ctx, &mut c);
    c.env("VMLAB_WIN_HELPER", &exe);
    let r = run_cmd(&mut c).and_then(|()| {
        // The library's Windows scenarios, model vs Wine step by step (crates/os/src/wincheck.rs).
        let mut c = ctx.cmd(
            "cargo",
            &[
                "test",
                "-p",
                "vmlab-os",
                "--test",
                "wine_check",
                "--",
                "--ignored",
            ],
        );
        wine_env(ctx, &mut c);
        c.env("VMLAB_WIN_HELPER", &exe);
        run_cmd(&mut c)
    });
    let mut k = ctx.cmd("wineserver", &["-k"]);
    wine_env(ctx, &mut k);
    let stopped = run_cmd(&mut k);
    eprintln!(
        "wine: exe linted and built in {built:.1} s, tests run in {:.1} s",
        t0.elapsed().as_secs_f64() - built
    );
    r.and(stopped)
}
