//! Fixture plugin `cycle_b`: the other half of a dependency cycle.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "cycle_b";
    const REQUIRES: &'static [(&'static str, &'static str)] = &[("cycle_a", "^1")];
}

ucdesk_sdk::export_plugin!(Probe<Id>);
