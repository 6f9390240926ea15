//! The kubelet's eviction manager on the node (model-spec L10): the `memory.available` signal
//! and the working sets it is computed from, and one eviction pass that ranks the pods and
//! evicts the first (pkg/kubelet/eviction). The kubelet acts between operations, every
//! housekeeping period (10 s); the kernel's OOM killer acts inside a fault. A scenario says when
//! the kubelet looks (`kube eviction`).

use super::{LinuxMachine, ProcState};
use crate::config::CgroupVersion;
use crate::event::{EventKind, EvictRank};
use crate::op::{EvictPod, Outcome, Signal};
use crate::query::{QueryError, Value};

impl LinuxMachine {
    /// cAdvisor's working set of a cgroup (container/libcontainer/handler.go: setMemoryStats):
    /// usage (v2 memory.current, v1 usage_in_bytes) less inactive_file (v2 memory.stat
    /// inactive_file, v1 total_inactive_file), 0 when inactive_file is larger. The root's usage
    /// is its page counter, which every charged page reaches (v2 prints no memory.current for
    /// the root; the kubelet's node figure comes from the root cgroup, model-spec L10).
    pub fn working_set_bytes(&self, path: &str) -> Result<u64, QueryError> {
        let id = self
            .memcg_by_path(path)
            .ok_or_else(|| QueryError::NoSuchField(format!("cgroup /{path}")))?;
        let usage = self.memcgs.groups[&id].memory.usage * crate::units::PAGE_SIZE;
        let key = match self.cfg.cgroup {
            CgroupVersion::V2 => "inactive_file",
            CgroupVersion::V1 => "total_inactive_file",
        };
        let inactive = match self.cgroup_query(path, "memory.stat", Some(key))? {
            Value::Bytes(b) => b,
            v => unreachable!("memory.stat {key} is a size, not {v:?}"),
        };
        // cAdvisor: `if v.Usage > inactiveFile { workingSet = v.Usage - inactiveFile }`: the
        // floor at 0 is the rule, not a hidden invariant (its usage and stats are read apart).
        Ok(usage.saturating_sub(inactive))
    }

    /// The eviction signal: node capacity (MemTotal) less the root cgroup's working set
    /// (pkg/kubelet/eviction/helpers.go: makeSignalObservations; memory.available).
    pub fn memory_available_bytes(&self) -> u64 {
        let ws = self
            .working_set_bytes("")
            .expect("the root cgroup always exists");
        self.cfg.ram_bytes - ws
    }

    /// One synchronize pass: below `threshold`, rank the pods and evict the first. The ranking
    /// is rankMemoryPressure: pods whose working set exceeds their request first, then (every
    /// pod has priority 0 here) by working set − request, largest first; the sort is stable, so
    /// equal pods keep the scenario's order. Pods with no running process are not candidates.
    /// A hard eviction has no grace period: every process of the pod is killed at once.
    pub(crate) fn kubelet_evict(&mut self, threshold: u64, pods: &[EvictPod]) -> Outcome {
        let available = self.memory_available_bytes();
        if available >= threshold {
            self.emit(EventKind::Kubelet {
                available,
                threshold,
                ranking: Vec::new(),
                evicted: None,
            });
            return Outcome::Ok;
        }
        let mut ranking: Vec<EvictRank> = pods
            .iter()
            .filter(|p| !self.pod_pids(&p.cgroup).is_empty())
            .map(|p| EvictRank {
                pod: p.name.clone(),
                usage: self.working_set_bytes(&p.cgroup).unwrap_or(0),
                request: p.request,
            })
            .collect();
        ranking.sort_by(|a, b| {
            let over = |r: &EvictRank| r.usage > r.request;
            let above = |r: &EvictRank| r.usage as i128 - r.request as i128;
            over(b).cmp(&over(a)).then(above(b).cmp(&above(a)))
        });
        let evicted = ranking.first().map(|r| r.pod.clone());
        // The decision first, then what it does.
        self.emit(EventKind::Kubelet {
            available,
            threshold,
            ranking,
            evicted: evicted.clone(),
        });
        if let Some(name) = &evicted {
            let pod = pods.iter().find(|p| &p.name == name).expect("ranked pods");
            for pid in self.pod_pids(&pod.cgroup) {
                self.end_process(pid, Some(Signal::SIGKILL));
            }
        }
        Outcome::Ok
    }

    /// After an OOM kill (global or memcg) of a process in a Kubernetes container's cgroup:
    /// the container's status as the runtime reports it, OOMKilled with exit code 137.
    pub(crate) fn report_oom_killed_container(&mut self, pid: super::Pid) {
        let path = &self.memcgs.groups[&self.procs[&pid].memcg].path;
        if let Some((_, Some(pod), Some(container))) = super::k8s::place_of(path) {
            let (pod, container) = (pod.to_string(), container.to_string());
            self.emit(EventKind::KubeOomKilled {
                pid,
                pod,
                container,
            });
        }
    }

    /// The running processes in a pod's cgroup or below it, by pid.
    fn pod_pids(&self, cgroup: &str) -> Vec<super::Pid> {
        let Some(id) = self.memcg_by_path(cgroup) else {
            return Vec::new();
        };
        self.procs
            .values()
            .filter(|p| p.state == ProcState::Running && self.memcg_in_subtree(p.memcg, id))
            .map(|p| p.pid)
            .collect()
    }
}
