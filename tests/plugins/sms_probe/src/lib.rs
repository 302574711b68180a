//! Fixture plugin `sms_probe`: licensed; an add-on the license must name (sms).
use ucdesk_fixture_kit::{Probe, Spec};

pub struct Id;

impl Spec for Id {
    const ID: &'static str = "sms_probe";
    const FEATURE: Option<&'static str> = Some("sms");
}

ucdesk_sdk::export_plugin!(Probe<Id>);
