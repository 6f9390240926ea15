//! A machine's configuration: which OS, how much RAM and swap, which kernel, which sysctls.

use crate::kernel::KernelVersion;
use crate::units::{pages_up, KIB, PAGE_SHIFT, PAGE_SIZE};
use serde::{Deserialize, Serialize};

/// The operating system a simulated machine runs. Linux is modelled now; the Windows machine
/// (reserve/commit, commit limit, page file, job objects) is added beside it behind the same seam.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OsKind {
    Linux,
    Windows,
}

/// `vm.overcommit_memory` (model-spec L2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OvercommitMode {
    /// 0, OVERCOMMIT_GUESS: the heuristic.
    Guess,
    /// 1, OVERCOMMIT_ALWAYS.
    Always,
    /// 2, OVERCOMMIT_NEVER: strict accounting against CommitLimit.
    Never,
}

impl OvercommitMode {
    pub fn from_sysctl(v: u64) -> Option<Self> {
        match v {
            0 => Some(Self::Guess),
            1 => Some(Self::Always),
            2 => Some(Self::Never),
            _ => None,
        }
    }
    pub fn sysctl_value(self) -> u64 {
        match self {
            Self::Guess => 0,
            Self::Always => 1,
            Self::Never => 2,
        }
    }
}

/// The `vm.*` sysctls the model reads (defaults from model-spec L2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sysctls {
    pub overcommit_memory: OvercommitMode,
    pub overcommit_ratio: u64,
    pub overcommit_kbytes: u64,
    pub admin_reserve_kbytes: u64,
    pub user_reserve_kbytes: u64,
    pub max_map_count: u64,
    /// `vm.nr_hugepages`: persistent huge pages of the default size, which lower CommitLimit.
    pub nr_hugepages: u64,
    /// `vm.panic_on_oom` (0, 1 or 2; mm/oom_kill.c: check_panic_on_oom).
    pub panic_on_oom: u64,
    /// `vm.oom_kill_allocating_task` (non-zero: kill the task that allocated).
    pub oom_kill_allocating_task: u64,
}

/// The default `max_map_count`, `USHRT_MAX - 5` (include/linux/mm.h: DEFAULT_MAX_MAP_COUNT).
pub const DEFAULT_MAX_MAP_COUNT: u64 = 65530;

impl Sysctls {
    /// The boot-time defaults for a machine whose free memory at the initcall was `free_kb`
    /// (mm/mmap.c: init_user_reserve = min(free/32, 128 MiB), init_admin_reserve = min(free/32, 8 MiB)).
    pub fn defaults_for(free_kb: u64) -> Self {
        Sysctls {
            overcommit_memory: OvercommitMode::Guess,
            overcommit_ratio: 50,
            overcommit_kbytes: 0,
            admin_reserve_kbytes: (free_kb / 32).min(8192),
            user_reserve_kbytes: (free_kb / 32).min(131_072),
            max_map_count: DEFAULT_MAX_MAP_COUNT,
            nr_hugepages: 0,
            panic_on_oom: 0,
            oom_kill_allocating_task: 0,
        }
    }
}

/// One tunable a scenario can set at any step with `sysctl vm.NAME=VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sysctl {
    OvercommitMemory,
    OvercommitRatio,
    OvercommitKbytes,
    AdminReserveKbytes,
    UserReserveKbytes,
    MaxMapCount,
    NrHugepages,
    PanicOnOom,
    OomKillAllocatingTask,
}

impl Sysctl {
    pub const ALL: [Sysctl; 9] = [
        Sysctl::OvercommitMemory,
        Sysctl::OvercommitRatio,
        Sysctl::OvercommitKbytes,
        Sysctl::AdminReserveKbytes,
        Sysctl::UserReserveKbytes,
        Sysctl::MaxMapCount,
        Sysctl::NrHugepages,
        Sysctl::PanicOnOom,
        Sysctl::OomKillAllocatingTask,
    ];

    /// The name under `/proc/sys/vm/`.
    pub fn name(self) -> &'static str {
        match self {
            Sysctl::OvercommitMemory => "overcommit_memory",
            Sysctl::OvercommitRatio => "overcommit_ratio",
            Sysctl::OvercommitKbytes => "overcommit_kbytes",
            Sysctl::AdminReserveKbytes => "admin_reserve_kbytes",
            Sysctl::UserReserveKbytes => "user_reserve_kbytes",
            Sysctl::MaxMapCount => "max_map_count",
            Sysctl::NrHugepages => "nr_hugepages",
            Sysctl::PanicOnOom => "panic_on_oom",
            Sysctl::OomKillAllocatingTask => "oom_kill_allocating_task",
        }
    }

    /// Accepts `vm.overcommit_memory` or `overcommit_memory`.
    pub fn from_name(s: &str) -> Option<Sysctl> {
        let s = s.strip_prefix("vm.").unwrap_or(s);
        Sysctl::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// A Linux machine's configuration at boot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinuxConfig {
    /// MemTotal in bytes (a multiple of the page size; `totalram_pages` in the kernel).
    pub ram_bytes: u64,
    /// SwapTotal in bytes.
    pub swap_bytes: u64,
    pub kernel: KernelVersion,
    /// The huge page size for `nr_hugepages` (2 MiB on x86-64).
    pub hugepage_bytes: u64,
    /// Number of CPUs: only shown, since the per-CPU counter batch is not simulated (model-spec L2.2).
    pub cpus: u32,
    pub sysctls: Sysctls,
    /// Which cgroup hierarchy the memory controller is bound to (`cgroup=v1|v2`; model-spec L9).
    #[serde(default)]
    pub cgroup: CgroupVersion,
    /// Whether the CPU has memory protection keys enabled: smaps prints `ProtectionKey:` only
    /// then (fs/proc/task_mmu.c: show_smap, `if (arch_pkeys_enabled())`; x86: OSPKE). The
    /// measured machine had them; a host without them is read as such by the harness.
    #[serde(default = "yes")]
    pub protection_keys: bool,
}

fn yes() -> bool {
    true
}

/// The memory controller's hierarchy: cgroup v2 (unified, the default of current distributions)
/// or the legacy v1 hierarchy (this project's real host; mm/memcontrol-v1.c).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupVersion {
    V1,
    #[default]
    V2,
}

impl CgroupVersion {
    pub fn name(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "v1",
            CgroupVersion::V2 => "v2",
        }
    }
}

impl LinuxConfig {
    /// A machine with `ram_bytes` of RAM and the kernel's boot defaults for every sysctl.
    /// The reserves are computed as if all of RAM were free at the initcall; a scenario can
    /// set them to a measured machine's values (model-spec L2.4 measured 100407 kB).
    pub fn new(ram_bytes: u64) -> Self {
        let ram_bytes = pages_up(ram_bytes) * PAGE_SIZE;
        LinuxConfig {
            ram_bytes,
            swap_bytes: 0,
            kernel: KernelVersion::default(),
            hugepage_bytes: 2 * 1024 * KIB,
            cpus: 2,
            sysctls: Sysctls::defaults_for(ram_bytes / KIB),
            cgroup: CgroupVersion::V2,
            protection_keys: true,
        }
    }

    /// Base pages per huge page (at least 1, so that a division by it is always defined).
    pub fn pages_per_hugepage(&self) -> u64 {
        (self.hugepage_bytes >> PAGE_SHIFT).max(1)
    }

    /// The huge page pool a boot with `hugepages=N` gets: as many huge pages as free RAM holds,
    /// the cap `vm.nr_hugepages` applies when written (mm/hugetlb.c: hugetlb_hstate_alloc_pages
    /// allocates until memory runs out; set_max_huge_pages likewise). At boot all of RAM is free.
    /// The result times [`Self::pages_per_hugepage`] is at most the RAM's page count, so no
    /// arithmetic on the pool can overflow.
    pub fn boot_hugepages(&self) -> u64 {
        let ram_pages = self.ram_bytes >> PAGE_SHIFT;
        self.sysctls
            .nr_hugepages
            .min(ram_pages / self.pages_per_hugepage())
    }

    /// The machine of model-spec §L13: 24,684,092 kB of RAM, no swap, Linux 6.18, with the
    /// reserves it reported (user 100407 kB, admin 8192 kB).
    pub fn measured() -> Self {
        let mut c = LinuxConfig::new(24_684_092 * KIB);
        c.sysctls.user_reserve_kbytes = 100_407;
        c.sysctls.admin_reserve_kbytes = 8192;
        c
    }
}

/// The configuration of any simulated machine: the seam between OS models.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MachineConfig {
    Linux(LinuxConfig),
    Windows(WindowsConfig),
}

impl MachineConfig {
    pub fn os(&self) -> OsKind {
        match self {
            MachineConfig::Linux(_) => OsKind::Linux,
            MachineConfig::Windows(_) => OsKind::Windows,
        }
    }
    pub fn ram_bytes(&self) -> u64 {
        match self {
            MachineConfig::Linux(c) => c.ram_bytes,
            MachineConfig::Windows(c) => c.ram_bytes,
        }
    }
    /// Linux: SwapTotal. Windows: the page files' current size at boot.
    pub fn swap_bytes(&self) -> u64 {
        match self {
            MachineConfig::Linux(c) => c.swap_bytes,
            MachineConfig::Windows(c) => c.pagefile_initial_bytes(),
        }
    }
    /// The Linux configuration, if this is a Linux machine.
    pub fn linux(&self) -> Option<&LinuxConfig> {
        match self {
            MachineConfig::Linux(c) => Some(c),
            MachineConfig::Windows(_) => None,
        }
    }
}

/// How a Windows machine's page file is sized (model-spec W3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PagefileConfig {
    /// No page file: the commit limit is RAM.
    None,
    /// An administrator's initial and maximum size (`pagefile=INIT..MAX`): the file starts at
    /// `initial_bytes` and may grow to `max_bytes` (capped by the disk).
    Sized { initial_bytes: u64, max_bytes: u64 },
    /// System-managed (`pagefile=system`): initial min(RAM ÷ 8, 32 GB), maximum
    /// max(3 × RAM, 4 GB) further limited to volume size ÷ 8 (W3, the Windows 10/11 table of
    /// "How to determine the appropriate page file size for 64-bit versions of Windows").
    SystemManaged,
}

/// A Windows machine's configuration at boot (model-spec Part W).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowsConfig {
    /// Physical memory in bytes, a multiple of the page size.
    pub ram_bytes: u64,
    pub pagefile: PagefileConfig,
    /// The size of the volume that holds the page file; it caps the page file's growth.
    pub disk_bytes: u64,
    /// The user-mode address space of every process (`ullTotalVirtual`): 128 TiB for a 64-bit
    /// process on Windows 8.1 and later; 2, 3 or 4 GiB for a 32-bit one (W8).
    pub va_bytes: u64,
    /// 32 or 64: the bitness of the processes.
    pub bits: u8,
}

/// The user address space of a 64-bit process on Windows 8.1 / 2012 R2 and later (W8).
pub const WINDOWS_VA_64_BYTES: u64 = 128 * crate::units::TIB;
/// The default user address space of a 32-bit process (W8: 2 GB).
pub const WINDOWS_VA_32_BYTES: u64 = 2 * crate::units::GIB;

impl WindowsConfig {
    /// A 64-bit machine with `ram_bytes` of RAM, no page file and a disk of 1 TiB.
    pub fn new(ram_bytes: u64) -> Self {
        WindowsConfig {
            ram_bytes: pages_up(ram_bytes) * PAGE_SIZE,
            pagefile: PagefileConfig::None,
            disk_bytes: crate::units::TIB,
            va_bytes: WINDOWS_VA_64_BYTES,
            bits: 64,
        }
    }

    /// The page file's size at boot, in bytes (whole pages).
    pub fn pagefile_initial_bytes(&self) -> u64 {
        let b = match self.pagefile {
            PagefileConfig::None => 0,
            PagefileConfig::Sized { initial_bytes, .. } => initial_bytes,
            // W3: "RAM ÷ 8, max 32 GB".
            PagefileConfig::SystemManaged => (self.ram_bytes / 8).min(32 * crate::units::GIB),
        };
        (b.min(self.pagefile_max_bytes()) / PAGE_SIZE) * PAGE_SIZE
    }

    /// The largest the page file may grow to, in bytes (whole pages): the configured maximum
    /// capped by the disk; system-managed max(3 × RAM, 4 GB) capped by volume size ÷ 8 (W3).
    pub fn pagefile_max_bytes(&self) -> u64 {
        let b = match self.pagefile {
            PagefileConfig::None => 0,
            PagefileConfig::Sized { max_bytes, .. } => max_bytes.min(self.disk_bytes),
            PagefileConfig::SystemManaged => self
                .ram_bytes
                .saturating_mul(3)
                .max(4 * crate::units::GIB)
                .min(self.disk_bytes / 8),
        };
        (b / PAGE_SIZE) * PAGE_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_defaults_follow_free_memory() {
        // mm/mmap.c: min(free/32, 128 MiB) and min(free/32, 8 MiB).
        let s = Sysctls::defaults_for(24_684_092);
        assert_eq!(s.user_reserve_kbytes, 131_072);
        assert_eq!(s.admin_reserve_kbytes, 8192);
        let small = Sysctls::defaults_for(1_048_576);
        assert_eq!(small.user_reserve_kbytes, 32_768);
        assert_eq!(small.admin_reserve_kbytes, 8192);
        assert_eq!(s.max_map_count, 65530);
    }

    #[test]
    fn boot_hugepages_fit_in_ram() {
        // 8 GiB of RAM holds 4096 huge pages of 2 MiB.
        let mut c = LinuxConfig::new(8 << 30);
        for (asked, got) in [(0, 0), (100, 100), (4096, 4096), (4097, 4096)] {
            c.sysctls.nr_hugepages = asked;
            assert_eq!(c.boot_hugepages(), got, "hugepages={asked}");
        }
        for asked in [1u64 << 63, u64::MAX] {
            c.sysctls.nr_hugepages = asked;
            assert_eq!(c.boot_hugepages(), 4096, "hugepages={asked}");
        }
        // A huge page size below a page still divides safely.
        c.hugepage_bytes = 0;
        assert_eq!(c.pages_per_hugepage(), 1);
        assert_eq!(c.boot_hugepages(), (8 << 30) / PAGE_SIZE);
    }

    #[test]
    fn sysctl_names() {
        assert_eq!(
            Sysctl::from_name("vm.overcommit_memory"),
            Some(Sysctl::OvercommitMemory)
        );
        assert_eq!(
            Sysctl::from_name("max_map_count"),
            Some(Sysctl::MaxMapCount)
        );
        assert_eq!(Sysctl::from_name("vm.swappiness"), None);
    }
}
