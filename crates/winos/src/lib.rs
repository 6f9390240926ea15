//! vmlab-winos: the Windows backend. A helper exe (`vmlab-win-helper`, built for
//! `x86_64-pc-windows-gnu`) executes Windows memory operations — VirtualAlloc/VirtualFree/
//! VirtualQuery, touches, pagefile-backed sections and views, job objects, and the reported
//! structures of model-spec W4/W5 — sent as [`protocol::Request`] lines on its stdin, and answers
//! each with a [`protocol::Response`] (success, the value, `GetLastError()`). On Linux,
//! [`wine::WineHelper`] starts it under Wine and drives it, and reads the Wine process's smaps.
//!
//! A crate of its own rather than a module of `vmlab-os`: the exe is cross-compiled, and this
//! crate depends on serde and windows-sys only, so the Windows build does not compile
//! `vmlab-core` and `vmlab-os`'s Linux backend (libc, the checker) for a target they never run
//! on. The protocol is plain values so that a model op maps to a request 1:1 (ARCHITECTURE.md,
//! "Glue to the model", has the table).
//!
//! This crate allows `unsafe` (the workspace denies it): the Win32 calls live in `win`, each
//! `unsafe` block says why it is sound in a `// SAFETY:` comment.

pub mod names;
pub mod protocol;

#[cfg(windows)]
pub mod win;

#[cfg(unix)]
pub mod wine;
