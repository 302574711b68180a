//! Emergency location (Ray Baum's Act): when the server's locality is the United
//! States, calls to 911, 112 and 933 (the test number) carry the user's dispatchable
//! location by value, as RFC 6442 describes: a `Geolocation: <cid:...>` header naming a
//! PIDF-LO body (RFC 4119 with the RFC 5139 civic address and RFC 5491 profile) sent
//! beside the SDP in a multipart/mixed INVITE.
//!
//! The location is the setting `softphone.emergency_location`, a JSON object (see
//! [`Location`]); the phone panel edits it with a form.

use serde::{Deserialize, Serialize};

/// Numbers that are emergency calls when the locality is US.
pub const EMERGENCY_NUMBERS: [&str; 3] = ["911", "112", "933"];

/// A dispatchable civic address: street address plus floor and room.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Location {
    /// A label ("HQ, 3rd floor").
    pub name: String,
    /// ISO 3166 alpha-2, e.g. `US`.
    pub country: String,
    /// State (A1), county (A2), city (A3).
    pub state: String,
    pub county: String,
    pub city: String,
    /// Street name (RD) and suffix (STS), house number (HNO) and suffix (HNS).
    pub street: String,
    pub street_suffix: String,
    pub number: String,
    pub number_suffix: String,
    pub postal_code: String,
    pub building: String,
    pub floor: String,
    pub room: String,
}

impl Location {
    /// Parses the setting; empty means not set.
    pub fn from_setting(text: &str) -> Result<Option<Location>, String> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let loc: Location =
            serde_json::from_str(text).map_err(|e| format!("emergency location is not valid: {e}"))?;
        loc.check()?;
        Ok(Some(loc))
    }

    /// A dispatcher needs at least the country, city, street and number.
    pub fn check(&self) -> Result<(), String> {
        let missing: Vec<&str> = [
            ("country", &self.country),
            ("city", &self.city),
            ("street", &self.street),
            ("number", &self.number),
        ]
        .iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(k, _)| *k)
        .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("emergency location lacks {}", missing.join(", ")))
        }
    }

    /// One line for the phone window ("100 Congress Ave, Austin, floor 3, room 301").
    pub fn summary(&self) -> String {
        let mut parts =
            vec![format!("{} {} {}", self.number, self.street, self.street_suffix).trim().to_string()];
        if !self.city.is_empty() {
            parts.push(self.city.clone());
        }
        if !self.floor.is_empty() {
            parts.push(format!("floor {}", self.floor));
        }
        if !self.room.is_empty() {
            parts.push(format!("room {}", self.room));
        }
        parts.join(", ")
    }
}

/// Whether dialing `number` must carry a location.
pub fn needs_location(number: &str, locality: &str) -> bool {
    locality.eq_ignore_ascii_case("US") && EMERGENCY_NUMBERS.contains(&number)
}

/// The PIDF-LO document for `entity` (our SIP URI) on device `device_id` (a URN,
/// mandatory in the RFC 4479 data model) at `location`. `timestamp` is RFC 3339.
pub fn pidf_lo(entity: &str, device_id: &str, location: &Location, timestamp: &str) -> String {
    let mut civic = String::new();
    for (tag, value) in [
        ("country", &location.country),
        ("A1", &location.state),
        ("A2", &location.county),
        ("A3", &location.city),
        ("RD", &location.street),
        ("STS", &location.street_suffix),
        ("HNO", &location.number),
        ("HNS", &location.number_suffix),
        ("PC", &location.postal_code),
        ("BLD", &location.building),
        ("FLR", &location.floor),
        ("ROOM", &location.room),
        ("NAM", &location.name),
    ] {
        if !value.trim().is_empty() {
            civic.push_str(&format!("        <ca:{tag}>{}</ca:{tag}>\n", xml_escape(value.trim())));
        }
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    entity="{entity}">
  <dm:device id="ucdesk">
    <gp:geopriv>
      <gp:location-info>
      <ca:civicAddress xml:lang="en">
{civic}      </ca:civicAddress>
      </gp:location-info>
      <gp:usage-rules/>
      <gp:method>Manual</gp:method>
    </gp:geopriv>
    <dm:deviceID>{device_id}</dm:deviceID>
    <dm:timestamp>{timestamp}</dm:timestamp>
  </dm:device>
</presence>
"#,
        entity = xml_escape(entity),
        device_id = xml_escape(device_id),
    )
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A multipart/mixed body holding the SDP offer and the PIDF-LO, with the boundary
/// and the Content-ID the Geolocation header must name.
pub struct LocatedOffer {
    pub content_type: String,
    pub body: String,
    pub content_id: String,
}

pub fn multipart_offer(sdp: &str, pidf: &str, host: &str) -> LocatedOffer {
    let token = crate::util::random_token(12);
    let boundary = format!("ucdesk-{token}");
    let content_id = format!("loc-{token}@{host}");
    let body = format!(
        "--{boundary}\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n--{boundary}\r\n\
         Content-Type: application/pidf+xml\r\nContent-ID: <{content_id}>\r\n\r\n{pidf}\r\n--{boundary}--\r\n"
    );
    LocatedOffer { content_type: format!("multipart/mixed;boundary={boundary}"), body, content_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn austin() -> Location {
        Location {
            name: "HQ".into(),
            country: "US".into(),
            state: "TX".into(),
            city: "Austin".into(),
            street: "Congress".into(),
            street_suffix: "Ave".into(),
            number: "100".into(),
            postal_code: "78701".into(),
            floor: "3".into(),
            room: "301 <east>".into(),
            ..Location::default()
        }
    }

    #[test]
    fn only_us_emergency_numbers_carry_location() {
        assert!(needs_location("911", "US"));
        assert!(needs_location("933", "us"));
        assert!(!needs_location("911", "BA"));
        assert!(!needs_location("9110", "US"));
    }

    #[test]
    fn pidf_carries_floor_and_room_escaped() {
        let xml = pidf_lo("sip:alice@example.com", "urn:uuid:1", &austin(), "2026-11-24T10:00:00Z");
        assert!(xml.contains("<ca:FLR>3</ca:FLR>"));
        assert!(xml.contains("<ca:ROOM>301 &lt;east&gt;</ca:ROOM>"));
        assert!(xml.contains("<ca:country>US</ca:country>"));
        assert!(!xml.contains("<ca:A2>"), "empty fields are left out");
    }

    #[test]
    fn incomplete_locations_are_refused() {
        let err = Location::from_setting(r#"{"country":"US","city":"Austin"}"#).unwrap_err();
        assert!(err.contains("street, number"), "{err}");
        assert!(Location::from_setting("not json").is_err());
        assert_eq!(Location::from_setting(" ").unwrap(), None);
        let ok = serde_json::to_string(&austin()).unwrap();
        assert_eq!(
            Location::from_setting(&ok).unwrap().unwrap().summary(),
            "100 Congress Ave, Austin, floor 3, room 301 <east>"
        );
    }

    #[test]
    fn multipart_names_the_location_part() {
        let o = multipart_offer("v=0\r\n", "<presence/>", "example.com");
        assert!(o.content_type.starts_with("multipart/mixed;boundary=ucdesk-"));
        assert!(o.body.contains(&format!("Content-ID: <{}>", o.content_id)));
        assert!(o.body.ends_with("--\r\n"));
    }
}
