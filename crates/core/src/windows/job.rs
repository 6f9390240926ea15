//! Job objects and containers (Learn: "Job Objects", JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
//! AssignProcessToJobObject; "Isolation Modes"; model-spec W5, W6). A job counts the commit of
//! its processes and of its child jobs' processes; PeakProcessMemoryUsed and PeakJobMemoryUsed
//! follow every change. A container is a job with a JobMemoryLimit and, with Hyper-V
//! isolation, a system of its own (the utility VM).

use super::event::WinEvent;
use super::op::*;
use super::system::System;
use super::{Step, WindowsMachine};
use crate::machine::OpError;
use crate::units::PAGE_SIZE;
use std::collections::{BTreeMap, BTreeSet};

const JOB: &str = "Learn: AssignProcessToJobObject function (nested jobs); model-spec W6";

#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    pub parent: Option<String>,
    pub limit_flags: u32,
    pub process_memory_limit: u64,
    pub job_memory_limit: u64,
    pub min_working_set: u64,
    pub max_working_set: u64,
    /// Processes directly in it.
    pub procs: BTreeSet<u32>,
    /// Committed pages of its processes and its child jobs' (not queryable: the seed).
    pub usage_pages: u64,
    pub peak_process_pages: u64,
    pub peak_job_pages: u64,
}

#[derive(Clone, Debug)]
pub struct Container {
    pub isolation: Isolation,
    pub job: String,
    pub system: usize,
}

impl WindowsMachine {
    pub(crate) fn job_exists(&self, job: &str) -> Result<(), OpError> {
        if self.jobs.contains_key(job) {
            Ok(())
        } else {
            Err(OpError::NotModelled {
                what: format!("no job named `{job}` (create it first)"),
            })
        }
    }

    pub(crate) fn create_job(&mut self, name: &str, st: &mut Step) {
        // Learn, CreateJobObjectW: "If the object existed before the function call, the
        // function returns a handle to the existing job object and GetLastError returns
        // ERROR_ALREADY_EXISTS."
        if self.jobs.contains_key(name) {
            return st.ev(WinEvent::OpenedExisting {
                what: "job",
                name: name.to_string(),
                source: "Learn: CreateJobObjectW function (\"returns a handle to the existing \
                         job object\"); Wine 8.0 does the same",
            });
        }
        self.jobs.insert(
            name.into(),
            Job {
                name: name.into(),
                parent: None,
                limit_flags: 0,
                process_memory_limit: 0,
                job_memory_limit: 0,
                min_working_set: 0,
                max_working_set: 0,
                procs: BTreeSet::new(),
                usage_pages: 0,
                peak_process_pages: 0,
                peak_job_pages: 0,
            },
        );
        st.ev(WinEvent::JobCreated { name: name.into() });
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn set_job_limits(
        &mut self,
        name: &str,
        flags: u32,
        process: u64,
        job: u64,
        min_ws: u64,
        max_ws: u64,
        st: &mut Step,
    ) {
        let known = JOB_OBJECT_LIMIT_WORKINGSET
            | JOB_OBJECT_LIMIT_PROCESS_MEMORY
            | JOB_OBJECT_LIMIT_JOB_MEMORY;
        if flags & !known != 0
            || (flags & JOB_OBJECT_LIMIT_WORKINGSET != 0 && (min_ws > max_ws || max_ws == 0))
        {
            return st.refuse(
                Win32Error::InvalidParameter,
                "LimitFlags holds a limit the model does not know, or the working-set range is empty",
                "Learn: JOBOBJECT_BASIC_LIMIT_INFORMATION; model-spec W6",
            );
        }
        let j = self.jobs.get_mut(name).expect("checked");
        j.limit_flags = flags;
        j.process_memory_limit = process;
        j.job_memory_limit = job;
        j.min_working_set = min_ws;
        j.max_working_set = max_ws;
        st.ev(WinEvent::JobLimitsSet {
            name: name.into(),
            limit_flags: flags,
        });
    }

    /// AssignProcessToJobObject. A process in no job joins it. A process already in job Q may
    /// join a job J with no parent, no processes and no child jobs, which then nests under Q
    /// (Windows 8+: "the job … must be empty or it must be in the hierarchy of nested jobs to
    /// which the process already belongs"); any other case is refused.
    pub(crate) fn assign(&mut self, job: &str, pid: u32, st: &mut Step) {
        let current = self.procs[&pid].job.clone();
        let mut nested_under = None;
        match &current {
            Some(q) if q == job => {
                st.ev(WinEvent::JobAssigned {
                    job: job.into(),
                    nested_under: None,
                });
                return;
            }
            Some(q) => {
                let j = &self.jobs[job];
                let is_ancestor = {
                    let mut a = Some(q.clone());
                    let mut found = false;
                    while let Some(n) = a {
                        if n == job {
                            found = true;
                            break;
                        }
                        a = self.jobs[&n].parent.clone();
                    }
                    found
                };
                let has_children = self.jobs.values().any(|c| c.parent.as_deref() == Some(job));
                // J already inside Q's hierarchy: the process moves down into it.
                let mut under_q = false;
                let mut a = j.parent.clone();
                while let Some(n) = a {
                    if n == *q {
                        under_q = true;
                        break;
                    }
                    a = self.jobs[&n].parent.clone();
                }
                if under_q {
                    let usage = self.procs[&pid].private_pages;
                    self.private_delta(pid, 0, usage);
                    self.jobs.get_mut(q).expect("exists").procs.remove(&pid);
                    self.jobs.get_mut(job).expect("exists").procs.insert(pid);
                    self.procs.get_mut(&pid).expect("exists").job = Some(job.into());
                    self.private_delta(pid, usage, 0);
                    st.ev(WinEvent::JobAssigned {
                        job: job.into(),
                        nested_under: None,
                    });
                    return;
                }
                if j.parent.is_some() || !j.procs.is_empty() || has_children || is_ancestor {
                    return st.refuse(
                        Win32Error::AccessDenied,
                        "a process in a job can only join an empty job outside its hierarchy, which then nests under its job",
                        JOB,
                    );
                }
                nested_under = Some(q.clone());
            }
            None => {}
        }
        // Take the process's charge out of its old chain, set the new chain, put it back.
        let usage = self.procs[&pid].private_pages;
        self.private_delta(pid, 0, usage);
        if let Some(q) = &current {
            self.jobs.get_mut(q).expect("exists").procs.remove(&pid);
            // The new job nests under the process's old one.
            self.jobs.get_mut(job).expect("exists").parent = Some(q.clone());
        }
        self.jobs.get_mut(job).expect("exists").procs.insert(pid);
        self.procs.get_mut(&pid).expect("exists").job = Some(job.into());
        self.private_delta(pid, usage, 0);
        st.ev(WinEvent::JobAssigned {
            job: job.into(),
            nested_under,
        });
    }

    pub(crate) fn create_container(
        &mut self,
        name: &str,
        isolation: Isolation,
        memory: u64,
        base: u64,
        pagefile: u64,
        st: &mut Step,
    ) {
        if self.containers.contains_key(name) || self.jobs.contains_key(name) {
            return st.refuse(
                Win32Error::AlreadyExists,
                "a container or job of this name exists",
                "Learn: Isolation Modes",
            );
        }
        let system = match isolation {
            Isolation::Process => 0,
            Isolation::HyperV => {
                let ram = memory / PAGE_SIZE;
                let base_pages = base.div_ceil(PAGE_SIZE);
                let pf = pagefile / PAGE_SIZE;
                // The VM's own system holds its base: charged and resident.
                self.systems.push(System {
                    label: format!("the Hyper-V VM of container `{name}`"),
                    ram_pages: ram,
                    pagefile_pages: pf,
                    pagefile_max_pages: pf,
                    charge: base_pages,
                    peak: base_pages,
                    resident: base_pages,
                    paged: 0,
                    base: base_pages,
                    fifo: BTreeMap::new(),
                });
                self.systems.len() - 1
            }
        };
        self.create_job(name, st);
        self.set_job_limits(name, JOB_OBJECT_LIMIT_JOB_MEMORY, 0, memory, 0, 0, st);
        self.containers.insert(
            name.into(),
            Container {
                isolation,
                job: name.into(),
                system,
            },
        );
        st.ev(WinEvent::ContainerCreated {
            name: name.into(),
            hyperv: isolation == Isolation::HyperV,
        });
    }
}
