//! CreateFileMapping and CreateJobObject under a name that exists open the existing object
//! (Learn: CreateFileMappingW, CreateJobObjectW; Wine 8.0 agrees), rather than fail.

use vmlab_core::scenario::parse;
use vmlab_core::sim::run;

fn passes(text: &str) {
    let s = parse(text).unwrap_or_else(|e| panic!("{e:?}"));
    let r = run(&s);
    assert!(r.all_passed(), "{r:#?}");
    assert!(r.error.is_none(), "{:?}", r.error);
}

#[test]
fn a_second_section_of_a_name_opens_the_first() {
    passes(
        "machine windows ram=4GiB pagefile=none\nspawn a\nspawn b\n\
         a section create s 64MiB commit\nexpect ok\nb section create s 64MiB commit\nexpect ok\n\
         expect GetPerformanceInfo.CommitTotal = 16384\nb map v s\nexpect ok\n",
    );
}

#[test]
fn a_second_job_of_a_name_opens_the_first() {
    passes(
        "machine windows ram=4GiB pagefile=none\njob create j\nexpect ok\njob create j\nexpect ok\n",
    );
}
