//! The plugin's settings: declared once here for the manifest, read into [`Config`].

use crate::light::{Colors, Pulse};
use serde_json::json;
use ucdesk_sdk::{Context, ManifestBuilder, SettingKind};

/// Which vendors' headsets are driven (the manual's "Enable ... support" switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vendors {
    pub plantronics: bool,
    pub jabra: bool,
    pub epos: bool,
    pub yealink: bool,
}

/// A headset's maker, from its USB vendor id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    Plantronics,
    Jabra,
    Epos,
    Yealink,
    /// Any other maker whose device declares a telephony collection: driven by the
    /// standard page, with no switch of its own.
    Other,
}

impl Vendor {
    pub fn of(vendor_id: u16) -> Vendor {
        match vendor_id {
            0x047f => Vendor::Plantronics,
            0x0b0e => Vendor::Jabra,
            0x1395 => Vendor::Epos,
            0x6993 => Vendor::Yealink,
            _ => Vendor::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Vendor::Plantronics => "Plantronics (Poly)",
            Vendor::Jabra => "Jabra",
            Vendor::Epos => "EPOS Sennheiser",
            Vendor::Yealink => "Yealink",
            Vendor::Other => "Other",
        }
    }
}

impl Vendors {
    pub fn enabled(&self, vendor: Vendor) -> bool {
        match vendor {
            Vendor::Plantronics => self.plantronics,
            Vendor::Jabra => self.jabra,
            Vendor::Epos => self.epos,
            Vendor::Yealink => self.yealink,
            Vendor::Other => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub vendors: Vendors,
    /// Ring in the headset itself too (Telephony Ringer), not only its Ring light.
    pub ringer: bool,
    pub busylight: bool,
    pub colors: Colors,
    pub pulse: Pulse,
}

pub fn declare(m: ManifestBuilder) -> ManifestBuilder {
    let on = Some(json!(true));
    let defaults = Colors::default();
    let m = crate::light::NAMES.iter().fold(m, |m, name| {
        m.setting(
            &format!("busylight_color_{name}"),
            &format!("Busylight colour: {}", name.replace('_', " ")),
            SettingKind::Text { max_len: Some(7) },
            Some(json!(defaults.text(name))),
        )
    });
    m.setting(
        "plantronics",
        "Enable Plantronics headset support (over USB HID directly: Plantronics Runtime does not exist on Linux and is not needed)",
        SettingKind::Bool,
        on.clone(),
    )
        .setting("jabra", "Enable Jabra headset support", SettingKind::Bool, on.clone())
        .setting("epos", "Enable EPOS Sennheiser headset support", SettingKind::Bool, on.clone())
        .setting("yealink", "Enable Yealink headset integration", SettingKind::Bool, on.clone())
        .setting(
            "ringer",
            "Ring in the headset as well as on the speaker",
            SettingKind::Bool,
            Some(json!(false)),
        )
        .setting("busylight_enabled", "Enable Busylight integration", SettingKind::Bool, Some(json!(false)))
        .setting(
            "busylight_pulse",
            "Busylight pulse rate for the phone states",
            SettingKind::Enum { options: vec!["slow".into(), "medium".into(), "fast".into()] },
            Some(json!("medium")),
        )
}

impl Config {
    pub fn read(ctx: &Context) -> Config {
        let flag = |name: &str, default: bool| ctx.setting::<bool>(name).unwrap_or(default);
        let mut colors = Colors::default();
        for name in crate::light::NAMES {
            if let Some(text) = ctx.setting::<String>(&format!("busylight_color_{name}")) {
                colors.set(name, text);
            }
        }
        Config {
            vendors: Vendors {
                plantronics: flag("plantronics", true),
                jabra: flag("jabra", true),
                epos: flag("epos", true),
                yealink: flag("yealink", true),
            },
            ringer: flag("ringer", false),
            busylight: flag("busylight_enabled", false),
            colors,
            pulse: Pulse::parse(&ctx.setting::<String>("busylight_pulse").unwrap_or_default()),
        }
    }
}
