//! Random workloads: a scenario written from a seed. The seed comes from getrandom (the browser's
//! crypto), is shown to the user and goes in the share link; the same seed always writes the same
//! scenario, so a random run can be reproduced.

/// splitmix64: tiny, good enough to vary a workload, identical on wasm32 and x86-64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A fresh seed from the platform's randomness (crypto.getRandomValues in the browser).
pub fn fresh_seed() -> Result<u64, String> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).map_err(|e| format!("no randomness available: {e}"))?;
    // Keep seeds short enough to read aloud and type: 0 ..= 999,999,999.
    Ok(u64::from_le_bytes(b) % 1_000_000_000)
}

/// A scenario of `ops` random operations over a few processes.
pub fn workload(seed: u64, ops: u32) -> String {
    let mut r = Rng(seed);
    let ram_gib = [4, 8, 16, 24][r.below(4) as usize];
    let swap_gib = [0, 0, 2, 4][r.below(4) as usize];
    let mode = r.below(3);
    let mut s = format!(
        "# Random workload from seed {seed}: reproduce it with the same seed.\n\
         machine linux ram={ram_gib}GiB swap={swap_gib}GiB overcommit={mode} kernel=6.6\n"
    );
    let mut procs: Vec<(String, u32)> = vec![("p0".into(), 0)];
    s.push_str("spawn p0\n");
    for _ in 0..ops {
        let pi = r.below(procs.len() as u64) as usize;
        let name = procs[pi].0.clone();
        let maps = procs[pi].1;
        match r.below(10) {
            0..=3 => {
                let size_mib = 1u64 << r.below(12);
                let flags = if r.below(5) == 0 { " noreserve" } else { "" };
                s.push_str(&format!(
                    "{name} mmap m{maps} {size_mib}MiB rw private anon{flags}\n"
                ));
                procs[pi].1 += 1;
            }
            4..=6 if maps > 0 => {
                s.push_str(&format!("{name} write m{}\n", r.below(u64::from(maps))));
            }
            7 if procs.len() < 8 => {
                let child = format!("p{}", procs.len());
                s.push_str(&format!("{name} fork {child}\n"));
                procs.push((child, maps));
            }
            8 if maps > 0 => {
                s.push_str(&format!(
                    "{name} madvise m{} dontneed\n",
                    r.below(u64::from(maps))
                ));
            }
            _ => {
                let size_mib = 1u64 << r.below(8);
                s.push_str(&format!(
                    "{name} mmap m{maps} {size_mib}MiB rw private anon populate\n"
                ));
                procs[pi].1 += 1;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_writes_the_same_scenario() {
        assert_eq!(workload(7, 40), workload(7, 40));
        assert_ne!(workload(7, 40), workload(8, 40));
        assert!(workload(7, 40).contains("seed 7"));
    }

    #[test]
    fn workloads_parse_and_run() {
        for seed in 0..30 {
            let text = workload(seed, 60);
            match crate::engine::load(&text) {
                Ok(sim) => assert!(sim.steps() > 0, "seed {seed}: no step ran"),
                Err(d) => panic!("seed {seed} does not parse: {d:?}\n{text}"),
            }
        }
    }
}
