//! The helper process as its own small binary (tests start it; the CLI uses `vmlab __helper`).

fn main() {
    #[cfg(target_os = "linux")]
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        vmlab_os::helper::main(&args)
    }
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("vmlab-os-helper: no real backend on this platform");
        std::process::exit(2);
    }
}
