//! Fixture plugin `panicky`: a probe that tests make panic.
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "panicky";
}

ucdesk_sdk::export_plugin!(Probe<Id>);
