//! Fixture plugin `needs_ghost`: depends on a plugin nobody ships.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "needs_ghost";
    const REQUIRES: &'static [(&'static str, &'static str)] = &[("ghost", "^1")];
}

ucdesk_sdk::export_plugin!(Probe<Id>);
