//! The backend on platforms without a real implementation yet: every call is `Unsupported`.
//! (Windows gets its own module, `windows.rs`, with VirtualAlloc and job objects.)

use crate::{BackendError, Death, ProcObservation, RealOptions, ScenarioSysctls};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use vmlab_core::op::{Op, Outcome};
use vmlab_core::procfs_parse::{KeyValues, MemcgV1, OomKill};

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
    pub fn deaths(&self) -> &[Death] {
        match *self {}
    }
    pub fn cgroups(&self) -> Result<BTreeMap<String, MemcgV1>, BackendError> {
        match *self {}
    }
    pub fn cgroup(&self, _: &str) -> Result<MemcgV1, BackendError> {
        match *self {}
    }
    pub fn cgroup_dir(&self) -> &Path {
        match *self {}
    }
    pub fn begin(&mut self, _: &Op) -> Result<(), BackendError> {
        match *self {}
    }
    pub fn complete(&mut self, _: &str, _: Duration) -> Result<Option<Outcome>, BackendError> {
        match *self {}
    }
    pub fn oom_kills(&mut self) -> Result<Vec<(String, OomKill)>, BackendError> {
        match *self {}
    }
    pub fn pid_of(&self, _: &str) -> Option<u32> {
        match *self {}
    }
    pub fn sched_state(&self, _: &str) -> Option<char> {
        match *self {}
    }
    pub fn waits_in_memcg_oom(&self, _: &str) -> Option<String> {
        match *self {}
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

pub fn leftover_cgroups(_: &str) -> Vec<std::path::PathBuf> {
    Vec::new()
}
