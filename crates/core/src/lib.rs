//! vmlab-core: a deterministic simulation of a machine's memory accounting.
//!
//! The contract: **deterministic; no I/O; no clock; no OS randomness**; no output depends on
//! `HashMap` order. Ground truth is `(MachineConfig, Vec<Op>)`; every other state is derived by
//! replaying the operations, and every decision is an [`event::Event`] with a reason and a source.
//! Sizes are `u64` (bytes or pages), never `usize`, so wasm32 and x86-64 agree to the byte.
//!
//! Map: [`op`] (operations as values) → [`machine::Machine`] (the OS seam) → [`linux`] (the
//! Linux model: commit ledger, VMAs, pages, procfs views) → [`event`] (decisions) and
//! [`snapshot`] (plain data for UIs). [`scenario`] parses the text language; [`sim`] runs it.

#![forbid(unsafe_code)]

pub mod config;
pub mod event;
pub mod gaps;
pub mod kernel;
pub mod linux;
pub mod machine;
pub mod op;
pub mod procfs_parse;
pub mod query;
pub mod runmap;
pub mod scenario;
pub mod sim;
pub mod snapshot;
pub mod units;
pub mod windows;
