//! VirtualFree's error code for a decommit past its allocation, checked against Windows
//! evidence (ReactOS's NtFreeVirtualMemory apitests, written against Windows) and Wine 8.0:
//! docs/known-differences.md, "Windows backend under Wine 8.0".

use vmlab_core::scenario::parse;
use vmlab_core::sim::run;

fn passes(text: &str) {
    let s = parse(text).unwrap_or_else(|e| panic!("{e:?}"));
    let r = run(&s);
    assert!(r.all_passed(), "{r:#?}");
}

/// STATUS_UNABLE_TO_FREE_VM → ERROR_INVALID_PARAMETER (87), as Wine 8.0 also returns.
#[test]
fn a_decommit_past_the_allocation_end_is_invalid_parameter() {
    passes(
        "machine windows ram=4GiB pagefile=none\nspawn a\na alloc r 1MiB\n\
         a decommit r[1020KiB..1028KiB]\nexpect fails ERROR_INVALID_PARAMETER\n\
         expect a.VirtualQuery.r.RegionSize = 1MiB\nexpect a.VirtualQuery.r.State = MEM_COMMIT\n",
    );
}
