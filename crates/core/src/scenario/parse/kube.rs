//! `kube` lines: Kubernetes pods as the kubelet lays them out (model-spec L10). Each line
//! expands into the cgroup and process operations the kubelet would perform, so the simulator
//! and a real backend run the same operations:
//!
//! `kube pod POD container NAME [request=SIZE] [limit=SIZE] [container …]` creates the QoS
//! tree (`kubepods`, `kubepods/burstable`, `kubepods/besteffort`) once, the pod's cgroup with
//! the sum of its containers' limits, and one cgroup per container with its limit;
//! `kube run PROC POD/CONTAINER` starts a process in a container with the `oom_score_adj` of
//! pkg/kubelet/qos/policy.go for the pod's QoS class;
//! `kube eviction [threshold=SIZE]` is one pass of the kubelet's eviction manager over the
//! pods declared so far (hard threshold `memory.available<100Mi` by default).
//! `expect kube memory.available …` and `expect kube working_set POD[/CONTAINER]|node …`
//! read the signal and cAdvisor's working set.

use super::{abs_size, err, quote, Cur, PResult, Parser};
use crate::config::{CgroupVersion, MachineConfig};
use crate::linux::k8s::{oom_score_adj, pod_cgroup, pod_limit, qos_of, QosClass, Resources};
use crate::op::{EvictPod, Op};
use crate::query::Query;
use crate::scenario::ast::Expect;
use crate::scenario::ast::{Pos, StmtKind};
use crate::scenario::lex::Tok;

/// A pod the scenario declared: its QoS class and containers, in order.
#[derive(Clone, Debug)]
pub(super) struct KubePod {
    pub qos: QosClass,
    pub containers: Vec<(String, Resources)>,
    /// Declaration order (the kubelet's pod list order, which its stable sort keeps for ties).
    pub seq: usize,
}

/// The kubelet's default hard eviction threshold, `memory.available<100Mi`
/// (pkg/kubelet/eviction/defaults_linux.go: DefaultEvictionHard).
pub const DEFAULT_EVICTION_THRESHOLD: u64 = 100 << 20;

impl Parser {
    fn limit_file(&self) -> &'static str {
        match &self.machine {
            Some(MachineConfig::Linux(c)) if c.cgroup == CgroupVersion::V1 => {
                "memory.limit_in_bytes"
            }
            _ => "memory.max",
        }
    }

    fn node_capacity(&self) -> u64 {
        match &self.machine {
            Some(MachineConfig::Linux(c)) => c.ram_bytes,
            Some(MachineConfig::Windows(c)) => c.ram_bytes,
            None => 0,
        }
    }

    pub(super) fn kube_line(&mut self, toks: &[Tok<'_>]) -> PResult<Vec<(Pos, StmtKind)>> {
        let mut cur = Cur::new(toks, 1);
        let what = cur.next("`pod POD container NAME …` or `run PROC POD/CONTAINER`")?;
        let at = toks[0].pos;
        let mut ops = Vec::new();
        match what.text {
            "pod" => {
                let pt = cur.next("a pod name")?;
                if !super::is_name(pt.text) {
                    return err(
                        pt.pos,
                        format!("expected a pod name, found {}", quote(pt.text)),
                    );
                }
                if self.pods.contains_key(pt.text) {
                    return err(pt.pos, format!("a pod named `{}` exists", pt.text));
                }
                let mut containers: Vec<(String, Resources)> = Vec::new();
                while let Some(t) = cur.peek() {
                    cur.i += 1;
                    if t.text == "container" {
                        let ct = cur.next("a container name")?;
                        if !super::is_name(ct.text) || containers.iter().any(|(n, _)| n == ct.text)
                        {
                            return err(
                                ct.pos,
                                format!("expected a new container name, found {}", quote(ct.text)),
                            );
                        }
                        containers.push((
                            ct.text.to_string(),
                            Resources {
                                request: None,
                                limit: None,
                            },
                        ));
                        continue;
                    }
                    let Some((_, r)) = containers.last_mut() else {
                        return err(t.pos, "a pod's resources follow `container NAME`");
                    };
                    if let Some(v) = t.strip("request=") {
                        r.request = Some(abs_size(v, "a memory request")?);
                    } else if let Some(v) = t.strip("limit=") {
                        r.limit = Some(abs_size(v, "a memory limit")?);
                    } else {
                        return err(
                            t.pos,
                            format!(
                                "expected `container NAME`, `request=SIZE` or `limit=SIZE`, found {}",
                                quote(t.text)
                            ),
                        );
                    }
                }
                if containers.is_empty() {
                    return err(cur.end(), "a pod needs at least one `container NAME`");
                }
                for (n, r) in &containers {
                    if let (Some(q), Some(l)) = (r.request, r.limit) {
                        if q > l {
                            return err(
                                at,
                                format!("container `{n}` requests more memory than its limit"),
                            );
                        }
                    }
                }
                let res: Vec<Resources> = containers.iter().map(|(_, r)| *r).collect();
                let qos = qos_of(&res);
                let file = self.limit_file();
                let mut create = |p: &mut Parser, path: String| {
                    p.cgroups.insert(path.clone());
                    ops.push((at, StmtKind::Op(Op::CgroupCreate { path })));
                };
                if !self.cgroups.contains("kubepods") {
                    for p in ["kubepods", "kubepods/burstable", "kubepods/besteffort"] {
                        create(self, p.to_string());
                    }
                }
                let podcg = pod_cgroup(qos, pt.text);
                if self.cgroups.contains(&podcg) {
                    return err(pt.pos, format!("cgroup `{podcg}` exists"));
                }
                create(self, podcg.clone());
                let mut writes = Vec::new();
                if let Some(l) = pod_limit(&res) {
                    writes.push((podcg.clone(), l));
                }
                for (n, r) in &containers {
                    let c = format!("{podcg}/{n}");
                    create(self, c.clone());
                    if let Some(l) = r.limit {
                        writes.push((c, l));
                    }
                }
                for (path, l) in writes {
                    ops.push((
                        at,
                        StmtKind::Op(Op::CgroupWrite {
                            path,
                            file: file.into(),
                            value: l.to_string(),
                        }),
                    ));
                }
                let seq = self.pods.len();
                self.pods.insert(
                    pt.text.to_string(),
                    KubePod {
                        qos,
                        containers,
                        seq,
                    },
                );
            }
            "run" => {
                let proc_tok = cur.next("a process name")?;
                let ct = cur.next("POD/CONTAINER")?;
                let Some((pod, container)) = ct.text.split_once('/') else {
                    return err(
                        ct.pos,
                        format!("expected POD/CONTAINER, found {}", quote(ct.text)),
                    );
                };
                let Some(p) = self.pods.get(pod) else {
                    return err(
                        ct.pos,
                        format!("no pod `{pod}` (declare it with `kube pod {pod} container …`)"),
                    );
                };
                let Some((_, r)) = p.containers.iter().find(|(n, _)| n == container) else {
                    return err(
                        ct.pos,
                        format!("pod `{pod}` has no container `{container}`"),
                    );
                };
                let adj = oom_score_adj(
                    p.qos,
                    r.effective_request().unwrap_or(0),
                    self.node_capacity(),
                );
                let path = format!("{}/{container}", pod_cgroup(p.qos, pod));
                let name = self.new_proc_name(proc_tok)?;
                let mm = self.names.new_mm(Default::default());
                self.add_proc(&name, mm);
                ops.push((
                    at,
                    StmtKind::Op(Op::Spawn {
                        name: name.clone(),
                        cap_sys_admin: false,
                        oom_score_adj: adj,
                    }),
                ));
                ops.push((at, StmtKind::Op(Op::CgroupMove { proc: name, path })));
            }
            "eviction" => {
                let mut threshold = DEFAULT_EVICTION_THRESHOLD;
                if let Some(t) = cur.peek() {
                    cur.i += 1;
                    let Some(v) = t.strip("threshold=") else {
                        return err(
                            t.pos,
                            format!("expected `threshold=SIZE`, found {}", quote(t.text)),
                        );
                    };
                    threshold = abs_size(v, "an eviction threshold")?;
                }
                if let Some(t) = cur.peek() {
                    return err(
                        t.pos,
                        format!("unexpected {} after the threshold", quote(t.text)),
                    );
                }
                let mut pods: Vec<(&String, &KubePod)> = self.pods.iter().collect();
                pods.sort_by_key(|(_, p)| p.seq);
                let pods = pods
                    .into_iter()
                    .map(|(name, p)| EvictPod {
                        name: name.clone(),
                        cgroup: pod_cgroup(p.qos, name),
                        request: p
                            .containers
                            .iter()
                            .map(|(_, r)| r.request.or(r.limit).unwrap_or(0))
                            .sum(),
                    })
                    .collect();
                ops.push((at, StmtKind::Op(Op::KubeletEvict { threshold, pods })));
            }
            _ => {
                return err(
                    what.pos,
                    format!(
                        "expected `pod`, `run` or `eviction` after `kube`, found {}",
                        quote(what.text)
                    ),
                )
            }
        }
        cur.done()?;
        Ok(ops)
    }
}

impl Parser {
    /// `expect kube memory.available CMP VALUE` or `expect kube working_set WHAT CMP VALUE`,
    /// WHAT a pod, a pod's container (`POD/CONTAINER`) or `node`.
    pub(super) fn expect_kube(&self, cur: &mut Cur<'_, '_>) -> PResult<Expect> {
        let qt = cur.next("`memory.available` or `working_set POD[/CONTAINER]`")?;
        match qt.text {
            "memory.available" => {
                self.value_tail(Query::MemoryAvailable, "memory.available", qt, cur)
            }
            "working_set" => {
                let wt = cur.next("a pod, POD/CONTAINER or `node`")?;
                let path = if wt.text == "node" {
                    String::new()
                } else {
                    let (pod, container) = match wt.text.split_once('/') {
                        Some((p, c)) => (p, Some(c)),
                        None => (wt.text, None),
                    };
                    let Some(p) = self.pods.get(pod) else {
                        return err(
                            wt.pos,
                            format!(
                                "no pod `{pod}` (declare it with `kube pod {pod} container …`)"
                            ),
                        );
                    };
                    let podcg = pod_cgroup(p.qos, pod);
                    match container {
                        None => podcg,
                        Some(c) if p.containers.iter().any(|(n, _)| n == c) => {
                            format!("{podcg}/{c}")
                        }
                        Some(c) => {
                            return err(wt.pos, format!("pod `{pod}` has no container `{c}`"))
                        }
                    }
                };
                let shown = format!("working_set {}", wt.text);
                self.value_tail(Query::WorkingSet { path }, &shown, wt, cur)
            }
            other => err(
                qt.pos,
                format!(
                    "expected `memory.available` or `working_set` after `expect kube`, found {}",
                    quote(other)
                ),
            ),
        }
    }
}
