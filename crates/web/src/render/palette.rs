//! The colours. The page states' colours are chosen so that every pair stays far apart (CIEDE2000)
//! for normal vision and under simulated protanopia, deuteranopia and tritanopia (Machado, Oliveira
//! and Fernandes 2009, severity 1): the test below fails if two of them come close. Each colour
//! also has a legend entry with a name.

use crate::views::PageState;

/// The page states in legend order; `index` maps a state to its slot. The lightness steps carry
/// the distinctions that hue loses under colour-vision deficiencies: a mapcount-2 frame is a
/// light olive, a frame of three or more sharers a dark brown (lightness 39 against 61).
/// Page cache is a near-black slate (lightness 14): every other state is lighter, so it stays
/// apart under every vision (ΔE2000 ≥ 28 from each of them).
///
/// The last five are a Windows machine's states (model-spec W2–W4, W7), shown only for a Windows
/// machine and never beside the Linux ones: each OS's legend is tested on its own, and the
/// Windows colours reuse tested ones with the same meaning (light: no RAM; dark blue: resident;
/// pink: written out to disk).
pub const PAGE_STATES: [(&str, &str); 13] = [
    ("untouched", "#e6e6e6"),
    ("zero page", "#61a1ff"),
    ("resident private", "#0041ee"),
    ("shared COW, mapcount 2", "#919c0f"),
    ("shared COW, mapcount ≥ 3", "#8b3e00"),
    ("swapped", "#d96c8f"),
    ("lazy-free", "#a6fe00"),
    ("page cache (file)", "#222233"),
    ("reserved", "#e6e6e6"),
    ("committed, untouched", "#61a1ff"),
    ("resident (working set)", "#0041ee"),
    ("in the page file", "#d96c8f"),
    ("mapped view (section)", "#919c0f"),
];

/// Where the Windows states start in [`PAGE_STATES`].
pub const WINDOWS_FIRST: usize = 8;

/// The legend of one OS's page states: (slot in [`PAGE_STATES`], name, colour).
pub fn legend(windows: bool) -> impl Iterator<Item = (usize, &'static str, &'static str)> {
    let range = if windows {
        WINDOWS_FIRST..PAGE_STATES.len()
    } else {
        0..WINDOWS_FIRST
    };
    range.map(|i| (i, PAGE_STATES[i].0, PAGE_STATES[i].1))
}

pub fn index(state: PageState) -> usize {
    match state {
        PageState::Untouched => 0,
        PageState::ZeroPage => 1,
        PageState::Private => 2,
        PageState::Shared(n) if n <= 2 => 3,
        PageState::Shared(_) => 4,
        PageState::Swapped => 5,
        PageState::LazyFree => 6,
        PageState::PageCache => 7,
        PageState::Reserved => 8,
        PageState::Committed => 9,
        PageState::WorkingSet => 10,
        PageState::PageFile => 11,
        PageState::View => 12,
    }
}

/// Line colours for chart series, in order: Committed_AS, CommitLimit, free RAM, then processes.
pub const SERIES: [(u8, u8, u8); 8] = [
    (213, 94, 0),
    (0, 0, 0),
    (0, 158, 115),
    (0, 114, 178),
    (230, 159, 0),
    (86, 180, 233),
    (204, 121, 167),
    (120, 120, 120),
];

/// Colour-vision simulation and colour difference, for the test and the simulated-vision
/// screenshots (`crates/web/e2e/cvd.cjs` applies the same matrices to a screenshot's pixels).
pub mod vision {
    /// Machado et al. 2009, severity 1.0, applied to linear RGB.
    pub const MACHADO: [(&str, [[f64; 3]; 3]); 4] = [
        (
            "normal",
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        ),
        (
            "protanopia",
            [
                [0.152286, 1.052583, -0.204868],
                [0.114503, 0.786281, 0.099216],
                [-0.003882, -0.048116, 1.051998],
            ],
        ),
        (
            "deuteranopia",
            [
                [0.367322, 0.860646, -0.227968],
                [0.280085, 0.672501, 0.047413],
                [-0.011820, 0.042940, 0.968881],
            ],
        ),
        (
            "tritanopia",
            [
                [1.255528, -0.076749, -0.178779],
                [-0.078411, 0.930809, 0.147602],
                [0.004733, 0.691367, 0.303900],
            ],
        ),
    ];

    /// `#rrggbb` → its three bytes; `None` for anything else.
    pub fn parse_hex(s: &str) -> Option<[u8; 3]> {
        let h = s.strip_prefix('#').filter(|h| h.len() == 6)?;
        let byte = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok();
        Some([byte(0)?, byte(2)?, byte(4)?])
    }

    fn linear(c: u8) -> f64 {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }

    /// The linear RGB a viewer with this matrix's vision sees for an sRGB colour, clamped.
    pub fn simulate(rgb: [u8; 3], m: &[[f64; 3]; 3]) -> [f64; 3] {
        let v = rgb.map(linear);
        let row = |r: &[f64; 3]| (r[0] * v[0] + r[1] * v[1] + r[2] * v[2]).clamp(0.0, 1.0);
        [row(&m[0]), row(&m[1]), row(&m[2])]
    }

    /// CIE L*a*b* (D65) of a linear RGB colour.
    pub fn lab(lin: [f64; 3]) -> [f64; 3] {
        let [r, g, b] = lin;
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        let f = |t: f64| {
            if t > 216.0 / 24389.0 {
                t.cbrt()
            } else {
                (24389.0 / 27.0 * t + 16.0) / 116.0
            }
        };
        let (fx, fy, fz) = (f(x), f(y), f(z));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    /// CIEDE2000 colour difference (Sharma, Wu and Dalal 2005).
    pub fn de2000(l1: [f64; 3], l2: [f64; 3]) -> f64 {
        use std::f64::consts::PI;
        let (deg, rad) = (180.0 / PI, PI / 180.0);
        let ([lp1, a1, b1], [lp2, a2, b2]) = (l1, l2);
        let c_bar = (a1.hypot(b1) + a2.hypot(b2)) / 2.0;
        let g = 0.5 * (1.0 - (c_bar.powi(7) / (c_bar.powi(7) + 25f64.powi(7))).sqrt());
        let (a1p, a2p) = ((1.0 + g) * a1, (1.0 + g) * a2);
        let (c1, c2) = (a1p.hypot(b1), a2p.hypot(b2));
        let hue = |b: f64, a: f64| {
            if a == 0.0 && b == 0.0 {
                0.0
            } else {
                (b.atan2(a) * deg).rem_euclid(360.0)
            }
        };
        let (h1, h2) = (hue(b1, a1p), hue(b2, a2p));
        let dl = lp2 - lp1;
        let dc = c2 - c1;
        let dh_angle = if c1 * c2 == 0.0 {
            0.0
        } else if (h2 - h1).abs() <= 180.0 {
            h2 - h1
        } else if h2 - h1 > 180.0 {
            h2 - h1 - 360.0
        } else {
            h2 - h1 + 360.0
        };
        let dh = 2.0 * (c1 * c2).sqrt() * (dh_angle * rad / 2.0).sin();
        let l_bar = (lp1 + lp2) / 2.0;
        let c_bar_p = (c1 + c2) / 2.0;
        let h_bar = if c1 * c2 == 0.0 {
            h1 + h2
        } else if (h1 - h2).abs() <= 180.0 {
            (h1 + h2) / 2.0
        } else if h1 + h2 < 360.0 {
            (h1 + h2 + 360.0) / 2.0
        } else {
            (h1 + h2 - 360.0) / 2.0
        };
        let t = 1.0 - 0.17 * ((h_bar - 30.0) * rad).cos()
            + 0.24 * (2.0 * h_bar * rad).cos()
            + 0.32 * ((3.0 * h_bar + 6.0) * rad).cos()
            - 0.20 * ((4.0 * h_bar - 63.0) * rad).cos();
        let d_theta = 30.0 * (-((h_bar - 275.0) / 25.0).powi(2)).exp();
        let rc = 2.0 * (c_bar_p.powi(7) / (c_bar_p.powi(7) + 25f64.powi(7))).sqrt();
        let sl = 1.0 + 0.015 * (l_bar - 50.0).powi(2) / (20.0 + (l_bar - 50.0).powi(2)).sqrt();
        let sc = 1.0 + 0.045 * c_bar_p;
        let sh = 1.0 + 0.015 * c_bar_p * t;
        let rt = -(2.0 * d_theta * rad).sin() * rc;
        ((dl / sl).powi(2) + (dc / sc).powi(2) + (dh / sh).powi(2) + rt * (dc / sc) * (dh / sh))
            .sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::vision::*;
    use super::*;

    /// Below this CIEDE2000 distance two cells of 10 px are hard to tell apart at a glance
    /// (2.3 is a just-noticeable difference; the old palette's worst pair was 10.9).
    const FLOOR: f64 = 20.0;

    #[test]
    fn every_pair_of_page_states_is_distinguishable_under_every_vision() {
        let mut worst = (f64::MAX, String::new());
        for ((vision, m), windows) in MACHADO.iter().flat_map(|v| [(v, false), (v, true)]) {
            let labs: Vec<(&str, [f64; 3])> = legend(windows)
                .map(|(_, name, hex)| {
                    let rgb = parse_hex(hex).unwrap_or_else(|| panic!("{name}: bad colour {hex}"));
                    (name, lab(simulate(rgb, m)))
                })
                .collect();
            for (i, (a, la)) in labs.iter().enumerate() {
                for (b, lb) in &labs[i + 1..] {
                    let d = de2000(*la, *lb);
                    assert!(
                        d >= FLOOR,
                        "under {vision}, “{a}” and “{b}” are only ΔE2000 {d:.1} apart (floor {FLOOR})"
                    );
                    if d < worst.0 {
                        worst = (d, format!("{vision}: {a} / {b}"));
                    }
                }
            }
        }
        eprintln!("closest pair: {} at ΔE2000 {:.1}", worst.1, worst.0);
    }

    /// Each OS's legend has every state of its own once, and the slots are `index`'s.
    #[test]
    fn each_os_legend_covers_its_states() {
        use crate::views::PageState as S;
        let win = [
            S::Reserved,
            S::Committed,
            S::WorkingSet,
            S::PageFile,
            S::View,
        ];
        let slots: Vec<usize> = legend(true).map(|(i, _, _)| i).collect();
        assert_eq!(win.map(index).to_vec(), slots);
        for s in win {
            assert_eq!(PAGE_STATES[index(s)].0, s.label(), "{s:?}");
        }
        assert_eq!(
            legend(false).count() + legend(true).count(),
            PAGE_STATES.len()
        );
    }

    #[test]
    fn the_old_palette_fails_the_floor() {
        // Okabe–Ito orange and vermillion for mapcount 2 and ≥ 3, as before issue 8: the test must
        // be able to fail, and this is the pair a deuteranope could not tell apart.
        let m = &MACHADO[2].1;
        let d = de2000(
            lab(simulate([0xe6, 0x9f, 0x00], m)),
            lab(simulate([0xd5, 0x5e, 0x00], m)),
        );
        assert!(d < FLOOR, "{d}");
    }

    #[test]
    fn de2000_matches_sharmas_reference_pairs() {
        // Sharma, Wu and Dalal (2005), table 1, pairs 1, 7 and 17.
        let cases = [
            ([50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485], 2.0425),
            ([50.0, 0.0, 0.0], [50.0, -1.0, 2.0], 2.3669),
            ([50.0, 2.5, 0.0], [73.0, 25.0, -18.0], 27.1492),
        ];
        for (a, b, want) in cases {
            let got = de2000(a, b);
            assert!((got - want).abs() < 1e-3, "{a:?} {b:?}: {got} vs {want}");
        }
    }

    #[test]
    fn simulation_keeps_grey_grey() {
        for (vision, m) in MACHADO.iter() {
            let [l, a, b] = lab(simulate([128, 128, 128], m));
            assert!(a.abs() < 1.0 && b.abs() < 1.5, "{vision}: {l} {a} {b}");
        }
    }
}
