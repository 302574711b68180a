//! Fixture plugin `greedy`: wants a newer probe than the one installed.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "greedy";
    const REQUIRES: &'static [(&'static str, &'static str)] = &[("probe", "^2")];
}

ucdesk_sdk::export_plugin!(Probe<Id>);
