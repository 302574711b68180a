//! How many SMS parts a text takes, the way the network counts: GSM-7 when every
//! character is in the GSM 03.38 default alphabet (160 septets, 153 per part once
//! concatenated; the extension table's characters take two), else UCS-2 (70 UTF-16
//! units, 67 per part). The composer's counter and `sms.send`'s four-part limit both
//! come from here.
//!
//! Written by hand: the rule is two tables and two divisions, and the crates that do it
//! bring a full PDU encoder we do not need (the gateway encodes; we only count).

use ucdesk_sdk::contract::sms::MAX_PARTS;

/// The default alphabet (3GPP TS 23.038 §6.2.1), one septet each.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (§6.2.1.1): an escape plus one septet.
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// A text's count: the encoding, the parts it takes, and what still fits in the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    pub parts: u32,
    /// Units left before the next part starts.
    pub left: usize,
}

impl Count {
    /// Whether it may be sent (at most [`MAX_PARTS`] parts).
    pub fn fits(&self) -> bool {
        self.parts <= MAX_PARTS
    }

    /// The composer's counter: "12/160", or "3 × 153 - 40 left".
    pub fn label(&self) -> String {
        let (single, multi) = self.sizes();
        if self.parts <= 1 {
            format!("{}/{single}", self.units)
        } else {
            format!("{} parts, {} left in this one (of {multi})", self.parts, self.left)
        }
    }

    fn sizes(&self) -> (usize, usize) {
        match self.encoding {
            Encoding::Gsm7 => (160, 153),
            Encoding::Ucs2 => (70, 67),
        }
    }
}

/// Counts a text. Concatenated parts are packed the way phones split them: an
/// extension character's escape pair, or a UTF-16 surrogate pair, never straddles two
/// parts, so a text near a boundary may take one part more than its length says.
pub fn count(text: &str) -> Count {
    let gsm: Option<Vec<usize>> = text
        .chars()
        .map(|c| {
            if BASIC.contains(c) {
                Some(1)
            } else if EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .collect();
    let (encoding, costs, single, multi) = match gsm {
        Some(costs) => (Encoding::Gsm7, costs, 160, 153),
        None => (Encoding::Ucs2, text.chars().map(char::len_utf16).collect(), 70, 67),
    };
    let units: usize = costs.iter().sum();
    let (parts, left) = if units == 0 {
        (0, single)
    } else if units <= single {
        (1, single - units)
    } else {
        let (mut parts, mut used) = (1u32, 0usize);
        for c in costs {
            if used + c > multi {
                parts += 1;
                used = 0;
            }
            used += c;
        }
        (parts, multi - used)
    };
    Count { encoding, units, parts, left }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm_texts_take_160_then_153_per_part() {
        assert_eq!(count("").parts, 0);
        let c = count(&"a".repeat(160));
        assert_eq!((c.encoding, c.parts, c.left), (Encoding::Gsm7, 1, 0));
        let c = count(&"a".repeat(161));
        assert_eq!((c.parts, c.left), (2, 306 - 161));
        assert_eq!(count(&"a".repeat(612)).parts, 4);
        let five = count(&"a".repeat(613));
        assert_eq!(five.parts, 5);
        assert!(!five.fits());
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let c = count(&"€".repeat(80));
        assert_eq!((c.encoding, c.units, c.parts), (Encoding::Gsm7, 160, 1));
        assert_eq!(count(&"[".repeat(81)).parts, 2);
        assert_eq!(count("Grüße! Äpfel @home £5, ¿qué?").encoding, Encoding::Gsm7);
        assert_eq!(count("ça").encoding, Encoding::Ucs2, "only the capital Ç is in the alphabet");
    }

    #[test]
    fn anything_else_is_ucs2_at_70_then_67() {
        let c = count("Привет");
        assert_eq!((c.encoding, c.units, c.parts), (Encoding::Ucs2, 6, 1));
        assert_eq!(count(&"ж".repeat(70)).parts, 1);
        assert_eq!(count(&"ж".repeat(71)).parts, 2);
        assert_eq!(count(&"ж".repeat(268)).parts, 4);
        assert_eq!(count(&"ж".repeat(269)).parts, 5);
        // One emoji makes the whole text UCS-2, and takes two units.
        let c = count(&format!("{}🙂", "a".repeat(68)));
        assert_eq!((c.encoding, c.units, c.parts), (Encoding::Ucs2, 70, 1));
    }

    #[test]
    fn pairs_never_straddle_two_parts() {
        // 612 septets, but no part can end in half a euro sign: five parts.
        let c = count(&format!("{}{}", "a".repeat(152), "€".repeat(230)));
        assert_eq!((c.units, c.parts), (612, 5));
        assert!(!c.fits());
        // 267 UTF-16 units, but no part can end in half an emoji: five parts.
        let c = count(&format!("a{}", "🙂".repeat(133)));
        assert_eq!((c.units, c.parts), (267, 5));
        // 153 is odd: a part holds 76 euro signs.
        assert_eq!(count(&"€".repeat(304)).parts, 4);
        assert_eq!(count(&"€".repeat(305)).parts, 5);
    }
}
