//! Temporary: parse vs run time of a scenario file.
fn main() {
    for f in std::env::args().skip(1) {
        let t = std::fs::read_to_string(&f).unwrap();
        let t0 = std::time::Instant::now();
        let s = vmlab_core::scenario::parse(&t).unwrap();
        let t1 = t0.elapsed();
        let r = vmlab_core::sim::run(&s);
        let t2 = t0.elapsed();
        let tr = vmlab_core::sim::trace_text(&r);
        let t3 = t0.elapsed();
        eprintln!(
            "{f}: parse {:?} run {:?} trace {:?} ({} bytes)",
            t1,
            t2 - t1,
            t3 - t2,
            tr.len()
        );
        std::mem::forget(r);
    }
}
