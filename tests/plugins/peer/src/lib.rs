//! Fixture plugin `peer`: a second probe, to publish alongside the first.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "peer";
}

ucdesk_sdk::export_plugin!(Probe<Id>);
