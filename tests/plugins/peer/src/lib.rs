//! Fixture plugin `peer`: a second probe, to publish alongside the first; it offers a
//! contact action ("Greet contact") on every contact row, for the shell's tests.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "peer";
    const CONTACT_ACTION: Option<(&'static str, &'static str)> = Some(("greet", "Greet contact"));
}

ucdesk_sdk::export_plugin!(Probe<Id>);
