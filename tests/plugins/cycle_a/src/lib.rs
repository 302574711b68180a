//! Fixture plugin `cycle_a`: one half of a dependency cycle.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "cycle_a";
    const REQUIRES: &'static [(&'static str, &'static str)] = &[("cycle_b", "^1")];
}

ucdesk_sdk::export_plugin!(Probe<Id>);
