//! The host as a `MachineConfig`: MemTotal, SwapTotal, page size, CPU count, kernel version and
//! the `vm.*` sysctls, read from /proc and uname, then turned into the simulator's configuration
//! by a pure function (tested with fixtures).

use crate::BackendError;
use vmlab_core::config::{CgroupVersion, LinuxConfig, MachineConfig, OvercommitMode};
use vmlab_core::kernel::KernelVersion;
use vmlab_core::procfs_parse::{self, KeyValues};

/// What was read from the host, as text and numbers, before any interpretation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    pub meminfo: KeyValues,
    pub page_size: u64,
    pub cpus: u32,
    /// `uname -r`, e.g. `6.18.44-fc-v1045`.
    pub kernel_release: String,
    pub overcommit_memory: u64,
    pub overcommit_ratio: u64,
    pub overcommit_kbytes: u64,
    pub admin_reserve_kbytes: u64,
    pub user_reserve_kbytes: u64,
    pub max_map_count: u64,
    pub nr_hugepages: u64,
    /// The hierarchy the memory controller is bound to: v1 when
    /// /sys/fs/cgroup/memory/memory.limit_in_bytes exists (as on these machines), else v2.
    pub memory_cgroup: CgroupVersion,
    /// smaps prints `ProtectionKey:` (the CPU has protection keys enabled).
    pub protection_keys: bool,
}

/// `6.18.44-fc-v1045` → 6.18 (the model selects eras by major.minor).
pub fn parse_kernel_release(release: &str) -> Option<KernelVersion> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some(KernelVersion::new(major, minor))
}

/// The simulator's configuration of this host.
pub fn linux_config(f: &HostFacts) -> Result<LinuxConfig, BackendError> {
    if f.page_size != 4096 {
        return Err(BackendError::Unsupported(format!(
            "a page size of {} bytes (the model has 4 KiB pages)",
            f.page_size
        )));
    }
    let kb = |k: &str| {
        f.meminfo
            .number(k)
            .ok_or_else(|| BackendError::Parse(format!("/proc/meminfo: no `{k}`")))
    };
    let kernel = parse_kernel_release(&f.kernel_release)
        .ok_or_else(|| BackendError::Parse(format!("kernel release `{}`", f.kernel_release)))?;
    let mut c = LinuxConfig::new(kb("MemTotal")? * 1024);
    c.swap_bytes = kb("SwapTotal")? * 1024;
    c.kernel = kernel;
    c.cpus = f.cpus.max(1);
    if let Some(h) = f.meminfo.number("Hugepagesize") {
        c.hugepage_bytes = h * 1024;
    }
    c.sysctls.overcommit_memory =
        OvercommitMode::from_sysctl(f.overcommit_memory).ok_or_else(|| {
            BackendError::Parse(format!("vm.overcommit_memory = {}", f.overcommit_memory))
        })?;
    c.sysctls.overcommit_ratio = f.overcommit_ratio;
    c.sysctls.overcommit_kbytes = f.overcommit_kbytes;
    c.sysctls.admin_reserve_kbytes = f.admin_reserve_kbytes;
    c.sysctls.user_reserve_kbytes = f.user_reserve_kbytes;
    c.sysctls.max_map_count = f.max_map_count;
    c.sysctls.nr_hugepages = f.nr_hugepages;
    c.cgroup = f.memory_cgroup;
    c.protection_keys = f.protection_keys;
    Ok(c)
}

/// Read the host (Linux; `Unsupported` elsewhere).
pub fn host_facts() -> Result<HostFacts, BackendError> {
    imp_facts()
}

/// The host as a simulator configuration.
pub fn host_config() -> Result<MachineConfig, BackendError> {
    Ok(MachineConfig::Linux(linux_config(&host_facts()?)?))
}

#[cfg(target_os = "linux")]
fn imp_facts() -> Result<HostFacts, BackendError> {
    use std::path::Path;
    let p = Path::new("/proc/meminfo");
    let text = std::fs::read_to_string(p).map_err(|e| BackendError::os("read", p, e))?;
    let meminfo = procfs_parse::parse_meminfo(&text)
        .map_err(|e| BackendError::Parse(format!("/proc/meminfo: {e}")))?;
    // SAFETY: sysconf has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // SAFETY: as above.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    // SAFETY: a zeroed utsname is valid; uname fills it with NUL-terminated strings.
    let release = unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return Err(BackendError::os(
                "uname",
                Path::new(""),
                std::io::Error::last_os_error(),
            ));
        }
        std::ffi::CStr::from_ptr(u.release.as_ptr())
            .to_string_lossy()
            .into_owned()
    };
    let vm = |name: &str| -> Result<u64, BackendError> {
        let p = Path::new("/proc/sys/vm").join(name);
        let t = std::fs::read_to_string(&p).map_err(|e| BackendError::os("read", &p, e))?;
        t.trim()
            .parse()
            .map_err(|_| BackendError::Parse(format!("{}: `{}`", p.display(), t.trim())))
    };
    Ok(HostFacts {
        meminfo,
        page_size: page_size.max(0) as u64,
        cpus: cpus.clamp(1, u32::MAX as libc::c_long) as u32,
        kernel_release: release,
        overcommit_memory: vm("overcommit_memory")?,
        overcommit_ratio: vm("overcommit_ratio")?,
        overcommit_kbytes: vm("overcommit_kbytes")?,
        admin_reserve_kbytes: vm("admin_reserve_kbytes")?,
        user_reserve_kbytes: vm("user_reserve_kbytes")?,
        max_map_count: vm("max_map_count")?,
        nr_hugepages: vm("nr_hugepages")?,
        memory_cgroup: if Path::new(crate::memcg::V1_ROOT)
            .join("memory.limit_in_bytes")
            .exists()
        {
            CgroupVersion::V1
        } else {
            CgroupVersion::V2
        },
        // What this kernel prints is the evidence: our own smaps has VMAs.
        protection_keys: {
            let p = Path::new("/proc/self/smaps");
            std::fs::read_to_string(p)
                .map_err(|e| BackendError::os("read", p, e))?
                .contains("\nProtectionKey:")
        },
    })
}

#[cfg(not(target_os = "linux"))]
fn imp_facts() -> Result<HostFacts, BackendError> {
    let _ = procfs_parse::parse_meminfo;
    Err(BackendError::Unsupported(format!(
        "reading the host on {}",
        std::env::consts::OS
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> HostFacts {
        HostFacts {
            meminfo: procfs_parse::parse_meminfo(
                "MemTotal:       24684092 kB\nSwapTotal:             0 kB\nHugepagesize:       2048 kB\n",
            )
            .unwrap(),
            page_size: 4096,
            cpus: 2,
            kernel_release: "6.18.44-fc-v1045".into(),
            overcommit_memory: 0,
            overcommit_ratio: 50,
            overcommit_kbytes: 0,
            admin_reserve_kbytes: 8192,
            user_reserve_kbytes: 100407,
            max_map_count: 65530,
            nr_hugepages: 0,
            memory_cgroup: CgroupVersion::V1,
            protection_keys: true,
        }
    }

    #[test]
    fn the_measured_host_is_the_measured_machine() {
        let c = linux_config(&facts()).unwrap();
        // The measured machine's memory controller is on v1 (model-spec L9); the simulator's
        // default hierarchy is v2, so the host's config says v1 explicitly.
        assert_eq!(
            c,
            LinuxConfig {
                cgroup: CgroupVersion::V1,
                ..LinuxConfig::measured()
            }
        );
        let mut f = facts();
        f.memory_cgroup = CgroupVersion::V2;
        f.protection_keys = false;
        let c = linux_config(&f).unwrap();
        assert_eq!((c.cgroup, c.protection_keys), (CgroupVersion::V2, false));
    }

    #[test]
    fn odd_hosts_are_errors() {
        let mut f = facts();
        f.page_size = 16384;
        assert!(matches!(
            linux_config(&f),
            Err(BackendError::Unsupported(_))
        ));
        let mut f = facts();
        f.overcommit_memory = 3;
        assert!(linux_config(&f).is_err());
        let mut f = facts();
        f.kernel_release = "x".into();
        assert!(linux_config(&f).is_err());
        assert_eq!(parse_kernel_release("5.1"), Some(KernelVersion::new(5, 1)));
    }
}
