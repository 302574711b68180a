//! The tamper corpus: every way a license file can be wrong is refused with its own
//! reason, and nothing panics.

use serde_json::json;
use std::collections::BTreeMap;
use ucdesk_license::{
    Date, Edition, KeyPair, LicenseDocument, LicenseError, TrustedKeys, features_of, issue, verify,
};

fn document() -> LicenseDocument {
    LicenseDocument {
        license_id: "LIC-0001".into(),
        licensee: "Example d.o.o.".into(),
        issued: "2026-01-01".parse().unwrap(),
        expires: "2027-01-01".parse().unwrap(),
        edition: Edition::Business,
        features: vec!["sms".into(), "meetings".into()],
        limits: BTreeMap::from([
            ("max_participants".into(), json!(25)),
            ("meeting_package".into(), json!("pro")),
        ]),
        server_domain: Some("pbx.example.com".into()),
    }
}

fn signed(key: &KeyPair) -> Vec<u8> {
    serde_json::to_vec_pretty(&issue(document(), key)).unwrap()
}

fn trusted(key: &KeyPair) -> TrustedKeys {
    TrustedKeys::new([key.public()])
}

#[test]
fn a_good_license_verifies_whatever_its_formatting() {
    let key = KeyPair::generate().unwrap();
    let pretty = signed(&key);
    assert_eq!(verify(&pretty, &trusted(&key)).unwrap(), document());
    // Compact, reordered keys: same meaning, same canonical bytes.
    let mut v: serde_json::Value = serde_json::from_slice(&pretty).unwrap();
    let compact = serde_json::to_vec(&v).unwrap();
    assert!(verify(&compact, &trusted(&key)).is_ok());
    v["license"]["limits"] = json!({"meeting_package": "pro", "max_participants": 25});
    assert!(verify(v.to_string().as_bytes(), &trusted(&key)).is_ok());
}

#[test]
fn flipping_any_byte_is_refused() {
    let key = KeyPair::generate().unwrap();
    let good = signed(&key);
    let trust = trusted(&key);
    for i in 0..good.len() {
        for mask in [0x01u8, 0x20] {
            let mut bad = good.clone();
            bad[i] ^= mask;
            if bad[i].is_ascii_whitespace() && good[i].is_ascii_whitespace() {
                continue; // space <-> other whitespace keeps the same JSON
            }
            let result = verify(&bad, &trust);
            assert!(result.is_err(), "byte {i} ({:?}) ^ {mask:#x} was accepted", good[i] as char);
        }
    }
}

#[test]
fn each_refusal_has_its_reason() {
    let key = KeyPair::generate().unwrap();
    let trust = trusted(&key);
    let other = KeyPair::generate().unwrap();
    assert!(matches!(verify(&signed(&other), &trust), Err(LicenseError::UnknownKey(_))));

    // The right key id with another key's signature.
    let mut forged = issue(document(), &other);
    forged.key_id = key.public().id();
    let forged = serde_json::to_vec(&forged).unwrap();
    assert_eq!(verify(&forged, &trust), Err(LicenseError::BadSignature));

    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_slice(&signed(&key)).unwrap();
        f(&mut v);
        verify(v.to_string().as_bytes(), &trust)
    };
    let malformed = |r: Result<LicenseDocument, LicenseError>, needle: &str| match r {
        Err(LicenseError::Malformed { reason, line, .. }) => {
            assert!(reason.contains(needle), "{reason}");
            assert!(line >= 1);
        }
        other => panic!("expected malformed ({needle}), got {other:?}"),
    };
    malformed(edit(&|v| v["license"]["edition"] = json!("platinum")), "unknown variant `platinum`");
    malformed(
        edit(&|v| drop(v["license"].as_object_mut().unwrap().remove("expires"))),
        "missing field `expires`",
    );
    malformed(edit(&|v| drop(v.as_object_mut().unwrap().remove("signature"))), "missing field `signature`");
    malformed(edit(&|v| v["license"]["seats_unlimited"] = json!(true)), "unknown field `seats_unlimited`");
    malformed(edit(&|v| v["license"]["expires"] = json!("2027-02-30")), "not a date");
    assert!(matches!(
        edit(&|v| v["format"] = json!("ucdesk-license/9")),
        Err(LicenseError::UnknownFormat(_))
    ));
    // Meaning changed under a valid-looking signature.
    assert_eq!(edit(&|v| v["license"]["edition"] = json!("supervisor")), Err(LicenseError::BadSignature));
    assert_eq!(
        edit(&|v| v["license"]["limits"]["max_participants"] = json!(1000)),
        Err(LicenseError::BadSignature)
    );

    // Duplicate keys, at the top, in the document and in limits.
    let text = String::from_utf8(serde_json::to_vec(&issue(document(), &key)).unwrap()).unwrap();
    let dup_top = text.replacen("{\"format\"", "{\"key_id\":\"x\",\"format\"", 1);
    malformed(verify(dup_top.as_bytes(), &trust), "duplicate field `key_id`");
    let dup_doc = text.replacen("\"licensee\"", "\"edition\":\"office\",\"licensee\"", 1);
    malformed(verify(dup_doc.as_bytes(), &trust), "duplicate field `edition`");
    let dup_limit = text.replacen("\"max_participants\"", "\"seats\":1,\"seats\":2,\"max_participants\"", 1);
    malformed(verify(dup_limit.as_bytes(), &trust), "duplicate limit `seats`");

    // Huge files are refused before parsing.
    let huge = vec![b' '; 10 * 1024 * 1024];
    assert!(matches!(verify(&huge, &trust), Err(LicenseError::TooLarge { .. })));
    // Garbage of every kind: an error, never a panic.
    for junk in [&b""[..], b"\xff\xfe", b"null", b"[]", b"{\"license\": 5}", b"{{{{"] {
        assert!(verify(junk, &trust).is_err());
    }
}

#[test]
fn dates_and_binding_are_checked() {
    let d = document();
    let day = |s: &str| s.parse::<Date>().unwrap();
    assert_eq!(d.check_validity(day("2026-06-01"), Some("pbx.example.com")), Ok(()));
    assert_eq!(d.check_validity(day("2027-01-01"), None), Ok(()), "valid through its last day");
    assert_eq!(d.check_validity(day("2027-01-02"), None), Err(LicenseError::Expired(day("2027-01-01"))));
    assert_eq!(d.check_validity(day("2025-12-31"), None), Err(LicenseError::NotYetValid(day("2026-01-01"))));
    assert!(matches!(
        d.check_validity(day("2026-06-01"), Some("other.example.com")),
        Err(LicenseError::WrongBinding { .. })
    ));
}

#[test]
fn editions_imply_features_and_add_ons_are_explicit() {
    let mut d = document();
    d.edition = Edition::Office;
    d.features.clear();
    assert!(d.has_feature("softphone"));
    assert!(!d.has_feature("fax"));
    assert!(!d.has_feature("sms"));
    d.edition = Edition::Supervisor;
    for f in ["softphone", "fax", "crm", "contact_center", "agent", "supervisor"] {
        assert!(d.has_feature(f), "{f}");
    }
    assert!(!d.has_feature("sms"), "add-ons are never implied");
    d.features.push("sms".into());
    assert!(features_of(&d).contains(&"sms".to_string()));
}
