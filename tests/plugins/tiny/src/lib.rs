//! Fixture plugin `tiny`: the benchmark's tiny plugin; its id is re-stamped per copy (see tests/benches/plugin_activation.rs).
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    // Fixed width, so that a benchmark can stamp copies tiny_0001, tiny_0002, ...
    const ID: &'static str = "tiny_0000";
    const PANEL: bool = false;
}

ucdesk_sdk::export_plugin!(Probe<Id>);
