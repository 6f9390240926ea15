//! The backend on platforms without a real implementation yet: every call is `Unsupported`.
//! (Windows gets its own module, `windows.rs`, with VirtualAlloc and job objects.)

use crate::{BackendError, ProcObservation, RealOptions, ScenarioSysctls};
use vmlab_core::op::{Op, Outcome};
use vmlab_core::procfs_parse::KeyValues;

fn unsupported<T>() -> Result<T, BackendError> {
    Err(BackendError::Unsupported(format!(
        "a real backend for {}",
        std::env::consts::OS
    )))
}

/// Uninhabited: `start` never succeeds here, so no method below can be reached.
pub enum RealMachine {}

impl RealMachine {
    pub fn start(_: &RealOptions) -> Result<RealMachine, BackendError> {
        unsupported()
    }
    pub fn token(&self) -> &str {
        match *self {}
    }
    pub fn host_sysctls(&self) -> &ScenarioSysctls {
        match *self {}
    }
    pub fn apply(&mut self, _: &Op) -> Result<Outcome, BackendError> {
        match *self {}
    }
    pub fn observe(&self, _: &str) -> Result<Option<ProcObservation>, BackendError> {
        match *self {}
    }
    pub fn meminfo(&self) -> Result<KeyValues, BackendError> {
        match *self {}
    }
    pub fn live(&self) -> Vec<String> {
        match *self {}
    }
    pub fn finish(self) -> Vec<String> {
        match self {}
    }
}

pub fn is_root() -> bool {
    false
}

pub fn processes_with_token(_: &str) -> Vec<u32> {
    Vec::new()
}

pub fn current_sysctls() -> Result<ScenarioSysctls, BackendError> {
    unsupported()
}

pub fn shm_segments_of(_: u32) -> Vec<i32> {
    Vec::new()
}
