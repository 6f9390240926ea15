//! The address space of one process: its VMAs drawn to scale, huge gaps elided, flags shown, and
//! the VMAs that the current step created, merged or split highlighted. Clicking a VMA zooms the
//! page view into it.

use super::size;
use crate::views::ProcView;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub proc_: ProcView,
    /// Spans the current step's VMA events name.
    pub changed: Vec<(u64, u64)>,
    pub zoom: Option<u64>,
    pub on_zoom: Callback<Option<u64>>,
}

/// A piece of the band: a VMA (by index) or a gap, with its flex weight.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Vma(usize, f64),
    Gap {
        bytes: u64,
        elided: bool,
        weight: f64,
    },
}

/// Lays out VMAs to scale. A gap larger than a tenth of the mapped total is elided: drawn as a
/// fixed-width break labelled with its size, so that a 100 TiB hole does not squash everything.
pub fn layout(p: &ProcView) -> Vec<Piece> {
    let mapped: u64 = p.vmas.iter().map(|v| v.size_bytes()).sum::<u64>().max(1);
    let mut out = Vec::new();
    for (i, v) in p.vmas.iter().enumerate() {
        if i > 0 {
            let gap = v.start.saturating_sub(p.vmas[i - 1].end);
            if gap > 0 {
                let elided = gap > mapped / 10;
                let weight = if elided {
                    0.06
                } else {
                    gap as f64 / mapped as f64
                };
                out.push(Piece::Gap {
                    bytes: gap,
                    elided,
                    weight,
                });
            }
        }
        out.push(Piece::Vma(i, v.size_bytes() as f64 / mapped as f64));
    }
    out
}

#[function_component(AddressSpace)]
pub fn address_space(p: &Props) -> Html {
    let proc_ = &p.proc_;
    html! {
        <div class="aspace" aria-label={format!("address space of {}", proc_.name)}>
            <div class="band">
                { for layout(proc_).into_iter().map(|piece| match piece {
                    Piece::Gap { bytes, elided, weight } => html! {
                        <div class={classes!("gap", elided.then_some("elided"))} style={format!("flex-grow:{weight:.4}")} title={format!("unmapped gap of {}", size(bytes))}>
                            if elided { <span>{format!("⋯ {} ⋯", size(bytes))}</span> }
                        </div>
                    },
                    Piece::Vma(i, weight) => {
                        let v = &proc_.vmas[i];
                        let changed = p.changed.iter().any(|(s, e)| *s < v.end && *e > v.start);
                        let zoomed = p.zoom == Some(v.start);
                        let zoom = p.on_zoom.clone();
                        let start = v.start;
                        let title = format!("{:x}-{:x} {} {} ({}) [{}]{}\n{}", v.start, v.end, v.perms, v.name, size(v.size_bytes()), v.flags.join(" "),
                            if changed { " — changed by this step" } else { "" }, crate::flags::explain_all(&v.flags));
                        html! {
                            <button class={classes!("vma", changed.then_some("changed"), zoomed.then_some("zoomed"), v.flags.iter().any(|f| f == "sh").then_some("shared"))}
                                style={format!("flex-grow:{weight:.4}")} title={title.clone()} aria-label={title}
                                onclick={move |_| zoom.emit(if zoomed { None } else { Some(start) })}>
                                <span class="vname">{v.name.clone()}</span>
                                <span class="vsize">{size(v.size_bytes())}</span>
                                <span class="vflags">{v.perms.clone()}{" "}{v.flags.join(" ")}</span>
                            </button>
                        }
                    }
                }) }
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::VmaView;

    fn vma(start: u64, end: u64) -> VmaView {
        VmaView {
            start,
            end,
            perms: "rw-p".into(),
            flags: vec!["ac".into()],
            name: "a".into(),
            rss_bytes: 0,
        }
    }

    #[test]
    fn elides_huge_gaps_only() {
        let p = ProcView {
            pid: 1,
            name: "app".into(),
            state: "running".into(),
            rss_bytes: 0,
            pss_bytes: 0,
            vm_size_bytes: 0,
            oom_score: 0,
            vmas: vec![
                vma(0x1000_0000, 0x2000_0000),
                vma(0x2010_0000, 0x3000_0000),
                vma(0x7f00_0000_0000, 0x7f00_1000_0000),
            ],
        };
        let l = layout(&p);
        assert_eq!(l.len(), 5);
        assert!(matches!(l[1], Piece::Gap { elided: false, .. }));
        assert!(matches!(l[3], Piece::Gap { elided: true, .. }));
    }
}
