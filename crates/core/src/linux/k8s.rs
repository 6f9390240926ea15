//! Kubernetes pods on a node (model-spec L10): QoS classes, the kubelet's cgroup layout and
//! each container's `oom_score_adj` by kubelet's policy.go. Pure functions: the scenario
//! language expands a `kube` line into cgroup and process operations with them, so a real
//! backend runs the same operations.

/// The pod's QoS class (pkg/apis/core/v1/helper/qos: GetPodQOS), from memory alone: vmlab has
/// no CPU requests, so a pod is Guaranteed when every container's memory request equals its
/// limit (a limit alone implies the request), BestEffort when no container sets either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn name(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

/// One container's memory request and limit, in bytes (None: not set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resources {
    pub request: Option<u64>,
    pub limit: Option<u64>,
}

impl Resources {
    /// A limit without a request requests the limit (the API server's defaulting).
    pub fn effective_request(&self) -> Option<u64> {
        self.request.or(self.limit)
    }
}

pub fn qos_of(containers: &[Resources]) -> QosClass {
    if containers
        .iter()
        .all(|c| c.request.is_none() && c.limit.is_none())
    {
        return QosClass::BestEffort;
    }
    if containers
        .iter()
        .all(|c| c.limit.is_some() && c.effective_request() == c.limit)
    {
        return QosClass::Guaranteed;
    }
    QosClass::Burstable
}

/// pkg/kubelet/qos/policy.go: GetContainerOOMScoreAdjust (guaranteedOOMScoreAdj = −997,
/// besteffortOOMScoreAdj = 1000; Burstable: 1000 − 1000 × request / capacity in int64
/// division, at least 1000 + guaranteedOOMScoreAdj = 3, and 999 if it came out 1000).
pub fn oom_score_adj(qos: QosClass, request: u64, capacity: u64) -> i32 {
    match qos {
        QosClass::Guaranteed => -997,
        QosClass::BestEffort => 1000,
        QosClass::Burstable => {
            let adj = 1000 - (1000 * request as i128 / capacity.max(1) as i128);
            let adj = if adj < 3 { 3 } else { adj };
            if adj == 1000 {
                999
            } else {
                adj as i32
            }
        }
    }
}

/// The pod's cgroup under the kubelet's cgroupfs layout: `kubepods/podNAME` (Guaranteed),
/// `kubepods/burstable/podNAME`, `kubepods/besteffort/podNAME`.
pub fn pod_cgroup(qos: QosClass, pod: &str) -> String {
    match qos {
        QosClass::Guaranteed => format!("kubepods/pod{pod}"),
        QosClass::Burstable => format!("kubepods/burstable/pod{pod}"),
        QosClass::BestEffort => format!("kubepods/besteffort/pod{pod}"),
    }
}

/// The inverse of [`pod_cgroup`]: where a cgroup path sits in the kubelet's cgroupfs layout —
/// its QoS class, its pod and container (`kubepods/burstable/podapi/app` → Burstable, `api`,
/// `app`; `kubepods/burstable` → Burstable, no pod). `kubepods` itself, and every path outside
/// it, has none. The kubelet places a pod by its QoS class, so the path is the class.
pub fn place_of(path: &str) -> Option<(QosClass, Option<&str>, Option<&str>)> {
    let rest = path.strip_prefix("kubepods/")?;
    let (qos, rest) = match rest.split_once('/') {
        Some(("burstable", r)) => (QosClass::Burstable, Some(r)),
        Some(("besteffort", r)) => (QosClass::BestEffort, Some(r)),
        None if rest == "burstable" => (QosClass::Burstable, None),
        None if rest == "besteffort" => (QosClass::BestEffort, None),
        _ => (QosClass::Guaranteed, Some(rest)),
    };
    let Some(rest) = rest else {
        return Some((qos, None, None));
    };
    let (pod, container) = match rest.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (rest, None),
    };
    let pod = pod.strip_prefix("pod")?;
    Some((qos, Some(pod), container))
}

/// The pod cgroup's memory limit: the sum of the containers' limits when every container has
/// one (pkg/kubelet/cm/helpers_linux.go: ResourceConfigForPod), else none.
pub fn pod_limit(containers: &[Resources]) -> Option<u64> {
    containers
        .iter()
        .map(|c| c.limit)
        .try_fold(0u64, |a, l| l.and_then(|l| a.checked_add(l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn policy_go_formula_and_its_clamps() {
        let cap = 16 * GIB;
        assert_eq!(oom_score_adj(QosClass::Guaranteed, GIB, cap), -997);
        assert_eq!(oom_score_adj(QosClass::BestEffort, 0, cap), 1000);
        // 1000 − 1000 × 4 GiB / 16 GiB = 750.
        assert_eq!(oom_score_adj(QosClass::Burstable, 4 * GIB, cap), 750);
        // A tiny request: 1000 − 0 = 1000 → 999.
        assert_eq!(oom_score_adj(QosClass::Burstable, 1 << 20, cap), 999);
        // A request of the whole node: 0 → the floor 3.
        assert_eq!(oom_score_adj(QosClass::Burstable, cap, cap), 3);
    }

    #[test]
    fn qos_classes() {
        let r = |request, limit| Resources { request, limit };
        assert_eq!(qos_of(&[r(None, None)]), QosClass::BestEffort);
        assert_eq!(qos_of(&[r(Some(GIB), Some(GIB))]), QosClass::Guaranteed);
        assert_eq!(qos_of(&[r(None, Some(GIB))]), QosClass::Guaranteed);
        assert_eq!(qos_of(&[r(Some(GIB), Some(2 * GIB))]), QosClass::Burstable);
        assert_eq!(
            qos_of(&[r(Some(GIB), Some(GIB)), r(None, None)]),
            QosClass::Burstable
        );
        assert_eq!(
            pod_limit(&[r(None, Some(GIB)), r(None, Some(GIB))]),
            Some(2 * GIB)
        );
        assert_eq!(pod_limit(&[r(None, Some(GIB)), r(None, None)]), None);
    }

    #[test]
    fn a_cgroup_path_gives_back_its_pod_and_qos_class() {
        for qos in [
            QosClass::Guaranteed,
            QosClass::Burstable,
            QosClass::BestEffort,
        ] {
            let pod = pod_cgroup(qos, "api");
            assert_eq!(place_of(&pod), Some((qos, Some("api"), None)));
            let c = format!("{pod}/app");
            assert_eq!(place_of(&c), Some((qos, Some("api"), Some("app"))));
        }
        assert_eq!(
            place_of("kubepods/burstable"),
            Some((QosClass::Burstable, None, None))
        );
        assert_eq!(place_of("kubepods"), None);
        assert_eq!(place_of("box"), None);
        assert_eq!(place_of("kubepods/other"), None);
    }
}
