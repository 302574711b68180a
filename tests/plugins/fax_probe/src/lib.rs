//! Fixture plugin `fax_probe`: licensed; a feature the business edition includes (fax).
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "fax_probe";
    const FEATURE: Option<&'static str> = Some("fax");
}

ucdesk_sdk::export_plugin!(Probe<Id>);
