//! The app's panels, each a function component drawing from `views` data and reporting the user's
//! verbs through callbacks; canvases are drawn by `App::rendered` through the `NodeRef`s passed in.

pub mod cgroups;
pub mod compare;
pub mod counters;
pub mod editor;
pub mod event_log;
pub mod library;
pub mod page_view;
pub mod physical;
pub mod proc_files;
pub mod processes;
pub mod timeline;
pub mod windows;

/// A size for people: the largest binary unit that fits, with one decimal unless it is whole
/// (`23.5 GiB`, not `24684092 KiB`). Exact values are in the /proc views.
pub fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (unit, name) in UNITS {
        if bytes >= unit {
            // Tenths computed in integers so the text is the same on every target.
            let tenths = (u128::from(bytes) * 10 + u128::from(unit) / 2) / u128::from(unit);
            return if tenths % 10 == 0 {
                format!("{} {name}", tenths / 10)
            } else {
                format!("{}.{} {name}", tenths / 10, tenths % 10)
            };
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_well() {
        assert_eq!(super::size(24_684_092 * 1024), "23.5 GiB");
        assert_eq!(super::size(64 << 20), "64 MiB");
        assert_eq!(super::size(100), "100 B");
        assert_eq!(super::size(1536 << 20), "1.5 GiB");
    }
}
