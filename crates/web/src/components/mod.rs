//! The app's panels, each a function component drawing from `views` data and reporting the user's
//! verbs through callbacks; canvases are drawn by `App::rendered` through the `NodeRef`s passed in.

pub mod address_space;
pub mod compare;
pub mod counters;
pub mod editor;
pub mod event_log;
pub mod library;
pub mod page_view;
pub mod proc_files;
pub mod timeline;

/// A size for people: binary units, one decimal.
pub fn size(bytes: u64) -> String {
    vmlab_core::units::human(bytes)
}
