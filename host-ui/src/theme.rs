//! The shell's look: colours (plugins' `#rrggbb`, presence dots, the danger fill), the
//! symbols the shell draws itself, the icon set plugins name, and the fonts that carry
//! all of their glyphs. Drawing lives in [`crate::render`] and [`crate::shell`]; they
//! ask here what things look like.

use eframe::egui::{self, Color32};

/// The fill of a danger button (and the colour of "do not disturb").
pub const DANGER: Color32 = Color32::from_rgb(0xc0, 0x39, 0x2b);

/// `#rrggbb` to a colour.
pub fn color(hex: &str) -> Option<Color32> {
    let h = hex.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let v = u32::from_str_radix(h, 16).ok()?;
    Some(Color32::from_rgb((v >> 16) as u8, (v >> 8) as u8, v as u8))
}

/// The colour of a presence dot.
pub fn presence_color(status: &str) -> Color32 {
    match status {
        "available" | "online" => Color32::from_rgb(0x2e, 0xcc, 0x71),
        "away" | "idle" => Color32::from_rgb(0xf1, 0xc4, 0x0f),
        "busy" => Color32::from_rgb(0xe7, 0x4c, 0x3c),
        "dnd" => DANGER,
        "on_call" | "in_meeting" => Color32::from_rgb(0xe6, 0x7e, 0x22),
        _ => Color32::from_rgb(0x95, 0xa5, 0xa6),
    }
}

/// Symbols the shell draws itself. Each is in the bundled fonts (egui's defaults with
/// the monochrome emoji fonts, and Hack as the last fallback; see [`fonts`]), so
/// nothing renders as a missing-glyph box.
pub mod symbol {
    pub const MORE: &str = "☰";
    pub const POP_OUT: &str = "🗗";
    pub const CLOSE: &str = "×";
    pub const LOCK: &str = "🔒";
    pub const WARNING: &str = "⚠";
    pub const SORT_UP: &str = " ⏶";
    pub const SORT_DOWN: &str = " ⏷";
    pub const ALL: [&str; 7] = [MORE, POP_OUT, CLOSE, LOCK, WARNING, SORT_UP, SORT_DOWN];
}

/// The shell's fonts: egui's defaults, with Hack (which has arrows and box symbols
/// the others lack) as the proportional family's last fallback.
pub fn fonts() -> egui::FontDefinitions {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional)
        && !family.iter().any(|f| f == "Hack")
    {
        family.push("Hack".to_string());
    }
    fonts
}

/// The shell's icon set: names plugins use, drawn with the bundled fonts' symbols.
pub const ICONS: [(&str, &str); 24] = [
    ("call", "📞"),
    ("phone", "📞"),
    ("hangup", "☎"),
    ("chat", "💬"),
    ("search", "🔍"),
    ("contacts", "👥"),
    ("recent", "🕒"),
    ("history", "🕒"),
    ("sms", "✉"),
    ("fax", "📠"),
    ("meetings", "🎥"),
    ("video", "🎥"),
    ("settings", "⚙"),
    ("headset", "🎧"),
    ("agent", "👤"),
    ("supervisor", "👤"),
    ("crm", "📇"),
    ("calendar", "📅"),
    ("outlook", "📅"),
    ("mute", "🔇"),
    ("attach", "📎"),
    ("folder", "🗀"),
    ("send", "➤"),
    ("warning", symbol::WARNING),
];

/// An icon by name; a small square for names the set does not have.
pub fn icon(name: &str) -> &'static str {
    ICONS.iter().find(|(n, _)| *n == name).map_or("▪", |(_, s)| s)
}
