//! Fixture plugin `probe`: the general-purpose probe.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "probe";
}

ucdesk_sdk::export_plugin!(Probe<Id>);
