//! The real tools' views at the current step: /proc/meminfo and the selected process's
//! /proc/PID/maps, smaps and status, as the kernel prints them.

use yew::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Meminfo,
    Maps,
    Smaps,
    Status,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Meminfo, Tab::Maps, Tab::Smaps, Tab::Status];
    pub fn path(self, pid: Option<u32>) -> String {
        let pid = pid.map(|p| p.to_string()).unwrap_or_else(|| "PID".into());
        match self {
            Tab::Meminfo => "/proc/meminfo".into(),
            Tab::Maps => format!("/proc/{pid}/maps"),
            Tab::Smaps => format!("/proc/{pid}/smaps"),
            Tab::Status => format!("/proc/{pid}/status"),
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub tab: Tab,
    pub pid: Option<u32>,
    pub text: String,
    pub on_tab: Callback<Tab>,
}

/// The VmFlags codes of an smaps text, each once, in the order `flags::FLAGS` lists them (codes
/// it does not know last, in the order seen).
pub fn flag_codes_in(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("VmFlags:") {
            for c in rest.split_whitespace() {
                if !seen.iter().any(|s| s == c) {
                    seen.push(c.to_string());
                }
            }
        }
    }
    let rank = |c: &String| {
        crate::flags::FLAGS
            .iter()
            .position(|(x, _, _)| x == c)
            .unwrap_or(usize::MAX)
    };
    seen.sort_by_key(rank);
    seen
}

/// The file's text; in smaps each `VmFlags:` code is an `abbr` whose hover text explains it.
fn file_text(tab: Tab, text: &str) -> Html {
    if tab != Tab::Smaps {
        return html! { {text.to_string()} };
    }
    html! {
        { for text.split_inclusive('\n').map(|line| match line.strip_prefix("VmFlags:") {
            Some(rest) => html! { <>{"VmFlags:"}
                { for rest.split_whitespace().map(|c| html! { <>{" "}<abbr class="flag" title={crate::flags::explain(c)}>{c.to_string()}</abbr></> }) }
                { if line.ends_with('\n') { "\n" } else { "" } }</> },
            None => html! { {line.to_string()} },
        }) }
    }
}

#[function_component(ProcFiles)]
pub fn proc_files(p: &Props) -> Html {
    let codes = if p.tab == Tab::Smaps {
        flag_codes_in(&p.text)
    } else {
        Vec::new()
    };
    html! {
        <section class="panel procfiles" aria-label="proc files">
            <div class="tabs" role="tablist">
                { for Tab::ALL.iter().map(|t| {
                    let on_tab = p.on_tab.clone();
                    let t = *t;
                    html! { <button role="tab" aria-selected={(t == p.tab).to_string()} class={classes!((t == p.tab).then_some("active"))} onclick={move |_| on_tab.emit(t)}>{t.path(p.pid)}</button> }
                }) }
            </div>
            <pre class="procfile" id="procfile" tabindex="0">{file_text(p.tab, &p.text)}</pre>
            if !codes.is_empty() {
                <div class="flag-legend" id="flag-legend">
                    <h3>{"VmFlags codes in this file"}</h3>
                    <ul>
                        { for codes.iter().map(|c| html! { <li data-code={c.clone()}><code>{c.clone()}</code>{crate::flags::explain(c).strip_prefix(c.as_str()).unwrap_or_default().to_string()}</li> }) }
                    </ul>
                </div>
            }
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_flag_codes_of_an_smaps_text_in_table_order() {
        let t = "7f-8f rw-p 0 00:00 0\nSize: 4 kB\nVmFlags: wr rd ac zz\nVmFlags: rd nr\n";
        assert_eq!(super::flag_codes_in(t), ["rd", "wr", "ac", "nr", "zz"]);
    }
}
