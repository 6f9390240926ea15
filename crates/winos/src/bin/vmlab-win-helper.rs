//! The Windows helper exe: reads `vmlab_winos::protocol::Request` lines on stdin and writes one
//! `Response` line each on stdout. Built for `x86_64-pc-windows-gnu`; run under Wine on Linux.

fn main() {
    #[cfg(windows)]
    vmlab_winos::win::main();
    #[cfg(not(windows))]
    {
        eprintln!(
            "vmlab-win-helper: a Windows program; build it with \
             --target x86_64-pc-windows-gnu and run it under Wine"
        );
        std::process::exit(2);
    }
}
