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

#[function_component(ProcFiles)]
pub fn proc_files(p: &Props) -> Html {
    html! {
        <section class="panel procfiles" aria-label="proc files">
            <div class="tabs" role="tablist">
                { for Tab::ALL.iter().map(|t| {
                    let on_tab = p.on_tab.clone();
                    let t = *t;
                    html! { <button role="tab" aria-selected={(t == p.tab).to_string()} class={classes!((t == p.tab).then_some("active"))} onclick={move |_| on_tab.emit(t)}>{t.path(p.pid)}</button> }
                }) }
            </div>
            <pre class="procfile" id="procfile" tabindex="0">{p.text.clone()}</pre>
        </section>
    }
}
