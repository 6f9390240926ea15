//! The scenario library as one text file (`library.txt`): every `scenarios/*.vmlab`, in file-name
//! order, each as an ASCII record separator (U+001E), its file name, a newline, then its text.
//! One writer for both of its users: crates/web/build.rs embeds it for the tests, and
//! `cargo xtask library` (Trunk's build hook) puts it beside the wasm, which fetches it.

use std::path::Path;

/// Starts each file's record; a scenario that contains it is refused.
pub const SEPARATOR: char = '\u{1e}';

/// The bundle of every `.vmlab` file in `dir`, and the paths it read.
pub fn bundle(dir: &Path) -> Result<(String, Vec<std::path::PathBuf>), String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<std::path::PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "vmlab"))
        .collect();
    files.sort();
    let mut out = String::new();
    for f in &files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: the file name is not UTF-8", f.display()))?;
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        if name.contains(SEPARATOR) || name.contains('\n') || text.contains(SEPARATOR) {
            return Err(format!(
                "{}: holds U+001E or a newline in its name, which library.txt uses to separate files",
                f.display()
            ));
        }
        out.push(SEPARATOR);
        out.push_str(name);
        out.push('\n');
        out.push_str(&text);
    }
    Ok((out, files))
}
