//! Fixture plugin `dependent`: depends on panicky, so it must go down with it.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "dependent";
    const REQUIRES: &'static [(&'static str, &'static str)] = &[("panicky", "^1")];
}

ucdesk_sdk::export_plugin!(Probe<Id>);
