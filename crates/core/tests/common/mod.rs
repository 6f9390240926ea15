//! A small lab for tests: a machine, operations by name, numbers in kB, and the invariants
//! checked after every operation.
#![allow(dead_code)]

use vmlab_core::config::{LinuxConfig, MachineConfig, OvercommitMode, Sysctl};
use vmlab_core::event::Event;
use vmlab_core::kernel::KernelVersion;
use vmlab_core::machine::Machine;
use vmlab_core::op::*;
use vmlab_core::query::{Query, Value};
use vmlab_core::units::*;

pub struct Lab {
    pub m: Machine,
    pub last_events: Vec<Event>,
    /// Check the invariants after every `check_every` operations (1 = always).
    pub check_every: u64,
    ops: u64,
}

/// Options of one mmap.
#[derive(Clone)]
pub struct Map {
    pub len: u64,
    pub prot: Prot,
    pub shared: bool,
    pub backing: Backing,
    pub noreserve: bool,
    pub populate: bool,
    pub placement: Placement,
    pub hugetlb: bool,
}

impl Map {
    pub fn anon(len: u64) -> Map {
        Map {
            len,
            prot: Prot::RW,
            shared: false,
            backing: Backing::Anon,
            noreserve: false,
            populate: false,
            placement: Placement::Any,
            hugetlb: false,
        }
    }
    pub fn prot(mut self, p: &str) -> Map {
        self.prot = Prot::parse(p).unwrap();
        self
    }
    pub fn shared(mut self) -> Map {
        self.shared = true;
        self
    }
    pub fn noreserve(mut self) -> Map {
        self.noreserve = true;
        self
    }
    pub fn populate(mut self) -> Map {
        self.populate = true;
        self
    }
    pub fn hugetlb(mut self) -> Map {
        self.hugetlb = true;
        self
    }
    pub fn file(mut self, path: &str, readonly_fd: bool) -> Map {
        self.backing = Backing::File {
            path: path.into(),
            offset: 0,
            readonly_fd,
        };
        self
    }
    pub fn offset(mut self, off: u64) -> Map {
        if let Backing::File { offset, .. } | Backing::Tmpfs { offset, .. } = &mut self.backing {
            *offset = off;
        }
        self
    }
    pub fn tmpfs(mut self, path: &str) -> Map {
        self.backing = Backing::Tmpfs {
            path: path.into(),
            offset: 0,
        };
        self
    }
    pub fn shm(mut self, key: &str) -> Map {
        self.backing = Backing::SysvShm { key: key.into() };
        self.shared = true;
        self
    }
    pub fn below(mut self, of: &str, gap: u64) -> Map {
        self.placement = Placement::Below { of: of.into(), gap };
        self
    }
    pub fn above(mut self, of: &str, gap: u64) -> Map {
        self.placement = Placement::Above { of: of.into(), gap };
        self
    }
    pub fn at(mut self, addr: u64) -> Map {
        self.placement = Placement::At(addr);
        self
    }
}

pub fn t(name: &str) -> Target {
    Target::whole(name)
}

pub fn sub(name: &str, a: u64, b: u64) -> Target {
    Target {
        mapping: name.into(),
        range: Some((Size::Bytes(a), Size::Bytes(b))),
    }
}

impl Lab {
    pub fn with(cfg: LinuxConfig) -> Lab {
        Lab {
            m: Machine::boot(&MachineConfig::Linux(cfg)),
            last_events: vec![],
            check_every: 1,
            ops: 0,
        }
    }

    /// The machine of model-spec §L13 (24,684,092 kB RAM, no swap, Linux 6.18).
    pub fn measured() -> Lab {
        Lab::with(LinuxConfig::measured())
    }

    pub fn measured_mode(mode: u64) -> Lab {
        let mut l = Lab::measured();
        l.sysctl(Sysctl::OvercommitMemory, mode);
        l
    }

    pub fn kernel(mut self, v: &str) -> Lab {
        let MachineConfig::Linux(mut cfg) = self.m.config() else {
            unreachable!("a Linux machine")
        };
        cfg.kernel = v.parse::<KernelVersion>().unwrap();
        self.m = Machine::boot(&MachineConfig::Linux(cfg));
        self
    }

    pub fn op(&mut self, op: Op) -> Outcome {
        let (o, ev) = self.m.apply(&op).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        self.last_events = ev;
        self.ops += 1;
        if self.ops.is_multiple_of(self.check_every) {
            self.check();
        }
        o
    }

    pub fn check(&self) {
        if let Err(e) = self.m.check_invariants() {
            panic!("invariant broken: {e}");
        }
    }

    pub fn sysctl(&mut self, s: Sysctl, v: u64) -> Outcome {
        self.op(Op::Sysctl {
            sysctl: s,
            value: v,
        })
    }

    pub fn spawn(&mut self, name: &str) -> Outcome {
        self.op(Op::Spawn {
            name: name.into(),
            cap_sys_admin: false,
            oom_score_adj: 0,
        })
    }

    pub fn spawn_admin(&mut self, name: &str) -> Outcome {
        self.op(Op::Spawn {
            name: name.into(),
            cap_sys_admin: true,
            oom_score_adj: 0,
        })
    }

    pub fn mmap(&mut self, proc: &str, name: &str, m: Map) -> Outcome {
        self.op(Op::Mmap {
            proc: proc.into(),
            name: name.into(),
            len: Size::Bytes(m.len),
            prot: m.prot,
            shared: m.shared,
            backing: m.backing,
            noreserve: m.noreserve,
            populate: m.populate,
            growsdown: false,
            locked: false,
            hugetlb: m.hugetlb,
            placement: m.placement,
        })
    }

    pub fn munmap(&mut self, proc: &str, target: Target) -> Outcome {
        self.op(Op::Munmap {
            proc: proc.into(),
            target,
        })
    }

    pub fn mprotect(&mut self, proc: &str, target: Target, prot: &str) -> Outcome {
        self.op(Op::Mprotect {
            proc: proc.into(),
            target,
            prot: Prot::parse(prot).unwrap(),
        })
    }

    pub fn madvise(&mut self, proc: &str, target: Target, a: Advice) -> Outcome {
        self.op(Op::Madvise {
            proc: proc.into(),
            target,
            advice: a,
        })
    }

    pub fn write(&mut self, proc: &str, target: Target) -> Outcome {
        self.op(Op::Access {
            proc: proc.into(),
            target,
            write: true,
        })
    }

    pub fn read(&mut self, proc: &str, target: Target) -> Outcome {
        self.op(Op::Access {
            proc: proc.into(),
            target,
            write: false,
        })
    }

    pub fn fork(&mut self, parent: &str, child: &str) -> Outcome {
        self.op(Op::Fork {
            parent: parent.into(),
            child: child.into(),
            kind: ForkKind::Fork,
        })
    }

    pub fn exit(&mut self, proc: &str) -> Outcome {
        self.op(Op::Exit { proc: proc.into() })
    }

    /// A /proc/meminfo field in kB.
    pub fn meminfo_kb(&self, field: &str) -> u64 {
        match self
            .m
            .query(&Query::Meminfo {
                field: field.into(),
            })
            .unwrap()
        {
            Value::Bytes(b) => b / KIB,
            Value::Number(n) => n as u64,
        }
    }

    pub fn committed_kb(&self) -> u64 {
        self.meminfo_kb("Committed_AS")
    }

    pub fn status_kb(&self, proc: &str, field: &str) -> u64 {
        match self
            .m
            .query(&Query::Status {
                proc: proc.into(),
                field: field.into(),
            })
            .unwrap()
        {
            Value::Bytes(b) => b / KIB,
            Value::Number(n) => n as u64,
        }
    }

    pub fn smaps_kb(&self, proc: &str, mapping: &str, field: &str) -> u64 {
        match self
            .m
            .query(&Query::Smaps {
                proc: proc.into(),
                mapping: mapping.into(),
                field: field.into(),
            })
            .unwrap()
        {
            Value::Bytes(b) => b / KIB,
            Value::Number(n) => n as u64,
        }
    }

    pub fn vmas(&self, proc: &str) -> u64 {
        match self
            .m
            .query(&Query::VmaCount { proc: proc.into() })
            .unwrap()
        {
            Value::Number(n) => n as u64,
            Value::Bytes(b) => b,
        }
    }

    pub fn number(&self, q: Query) -> i64 {
        match self.m.query(&q).unwrap() {
            Value::Number(n) => n,
            Value::Bytes(b) => b as i64,
        }
    }

    pub fn flags(&self, proc: &str, mapping: &str) -> String {
        let smaps = self.m.proc_view(proc, "smaps").unwrap();
        let lm = self.m.as_linux().unwrap();
        let pid = lm.by_name[proc];
        let mm = &lm.mms[&lm.procs[&pid].mm.unwrap()];
        let (start, _) = mm.names[mapping];
        let v = mm.find(start).unwrap();
        let head = format!("{:08x}-{:08x} ", v.start, v.end);
        let at = smaps.find(&head).unwrap();
        let rest = &smaps[at..];
        let vf = rest.find("VmFlags: ").unwrap();
        rest[vf + 9..]
            .lines()
            .next()
            .unwrap()
            .trim_end()
            .to_string()
    }

    pub fn reasons(&self) -> Vec<&'static str> {
        self.last_events.iter().map(|e| e.reason()).collect()
    }

    pub fn mode(&self) -> OvercommitMode {
        let MachineConfig::Linux(cfg) = self.m.config() else {
            unreachable!("a Linux machine")
        };
        cfg.sysctls.overcommit_memory
    }
}

pub const MB: u64 = MIB;
pub const GB: u64 = GIB;

impl Lab {
    /// Where a named mapping starts.
    pub fn addr(&self, proc: &str, mapping: &str) -> u64 {
        self.m.mapping(proc, mapping).unwrap().0
    }
}
