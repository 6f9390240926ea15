//! The colours, from Okabe and Ito's palette, which readers with any common colour-vision
//! deficiency can tell apart; every colour also has a legend entry with a name.

use crate::views::PageState;

/// The page states in legend order; `index` maps a state to its slot.
pub const PAGE_STATES: [(&str, &str); 7] = [
    ("untouched", "#dcdcdc"),
    ("zero page", "#56b4e9"),
    ("resident private", "#0072b2"),
    ("shared COW, mapcount 2", "#e69f00"),
    ("shared COW, mapcount ≥ 3", "#d55e00"),
    ("swapped", "#cc79a7"),
    ("lazy-free", "#f0e442"),
];

pub fn index(state: PageState) -> usize {
    match state {
        PageState::Untouched => 0,
        PageState::ZeroPage => 1,
        PageState::Private => 2,
        PageState::Shared(n) if n <= 2 => 3,
        PageState::Shared(_) => 4,
        PageState::Swapped => 5,
        PageState::LazyFree => 6,
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
