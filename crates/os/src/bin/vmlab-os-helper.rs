//! The helper process as its own small binary (tests start it; the CLI uses `vmlab __helper`).

/// An allocator that never uses `brk` and maps nothing after start-up (crate::helper_alloc).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOC: vmlab_os::helper_alloc::HelperAlloc = vmlab_os::helper_alloc::HelperAlloc::new();

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
