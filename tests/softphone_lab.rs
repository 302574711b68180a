//! The softphone against the real lab: Kamailio (registrar + proxy with digest auth)
//! and baresip bots on loopback, driven through the real `ucdesk` daemon, its
//! `phone.*` services and its bus events. A development license unlocks the module.

use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use ucdesk_tests::lab::{self, Bot, Dns, Kamailio, Sipp, free_port, set, sipp_scenario, softphone_profile};
use ucdesk_tests::{Daemon, Lines, Profile, wait_for};

const WAIT: Duration = Duration::from_secs(15);

/// A profile with the softphone, a business license and alice's account on `k`.
fn phone(k: &Kamailio, transport: &str, password: &str) -> Profile {
    softphone_profile(k, "alice", transport, password)
}

fn status(d: &Daemon) -> Value {
    d.call("phone.status", json!(null)).unwrap_or(Value::Null)
}

fn wait_registration(d: &Daemon, state: &str) -> Value {
    wait_for(WAIT, || Some(status(d)).filter(|s| s["registration"]["state"] == state))
        .unwrap_or_else(|| panic!("never {state}: {}\n{}", status(d), d.log()))
}

fn registered(p: &Profile) -> (Daemon, Lines) {
    lab::registered_daemon(p, &[])
}

/// Runs one SIPp client scenario from tests/lab/sipp against 127.0.0.1:`port`;
/// returns whether it succeeded and its message trace.
fn run_sipp(p: &Profile, scenario: &str, port: u16) -> (bool, String) {
    let out = Command::new("sipp")
        .args(["-sf", sipp_scenario(scenario).to_str().unwrap(), "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string(), "-mp", &free_port().to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "20s", "-trace_msg", "-message_file", "sipp.log"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(p.home.path())
        .output()
        .expect("sipp runs");
    let trace = std::fs::read_to_string(p.home.path().join("sipp.log")).unwrap_or_default();
    (out.status.success(), format!("{trace}\n{}", String::from_utf8_lossy(&out.stdout)))
}

/// The payload of the next event on `topic`; the test fails without one.
fn next_event(events: &Lines, topic: &str) -> Value {
    lab::next_event(events, topic, WAIT).unwrap_or_else(|| panic!("no {topic} event"))
}

#[test]
fn registers_over_udp_tcp_and_tls() {
    let k = Kamailio::start();
    for transport in ["udp", "tcp", "tls"] {
        let p = phone(&k, transport, "alicepw");
        let d = p.daemon();
        let s = wait_registration(&d, "registered");
        assert!(s["registration"]["server"].as_str().unwrap().contains(transport), "{s}");
        let (clean, log) = d.stop();
        assert!(clean, "{log}");
    }
}

#[test]
fn a_wrong_password_is_a_clear_state_without_a_retry_storm() {
    let k = Kamailio::start();
    let p = phone(&k, "udp", "wrong");
    let d = p.daemon();
    let s = wait_registration(&d, "auth_failed");
    assert!(s["registration"]["reason"].as_str().unwrap().contains("wrong user or password"), "{s}");
    // No retries: Kamailio sees exactly the first REGISTER and the one answer to its
    // challenge, however long we wait.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(status(&d)["registration"]["state"], "auth_failed");
    // The right password, given while it runs (as the login dialog does): the phone
    // hears of it and registers, no restart needed.
    lab::set_secret(&p, "softphone.password", "alicepw");
    wait_registration(&d, "registered");
}

#[test]
fn calls_a_bot_holds_sends_dtmf_and_hangs_up() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let p = phone(&k, "udp", "alicepw");
    let (d, events) = registered(&p);
    let dialed = d.call("phone.dial", json!({"number": "bob"})).unwrap();
    let callid = dialed["callid"].as_str().unwrap().to_string();
    let answered = next_event(&events, "call.answered");
    assert_eq!(answered["callid"], callid.as_str());
    assert_eq!(answered["direction"], "outbound");
    assert_eq!(answered["number"], "bob");

    d.call("phone.hold", json!({"callid": callid})).unwrap();
    assert_eq!(next_event(&events, "call.held")["state"], "held");
    d.call("phone.resume", json!({"callid": callid})).unwrap();
    assert_eq!(next_event(&events, "call.resumed")["state"], "connected");

    d.call("phone.dtmf", json!({"callid": callid, "digits": "5#"})).unwrap();
    wait_for(WAIT, || bob.log().contains("received event").then_some(()))
        .unwrap_or_else(|| panic!("bob heard no DTMF:\n{}", bob.log()));

    d.call("phone.hangup", json!({"callid": callid})).unwrap();
    let ended = next_event(&events, "call.ended");
    assert_eq!(ended["result"], "answered");
    let history = d.call("phone.history", json!({"limit": 5})).unwrap();
    assert_eq!(history["entries"][0]["callid"], callid.as_str());
    assert_eq!(history["entries"][0]["result"], "answered");
}

#[test]
fn incoming_call_is_answered_automatically_after_the_countdown() {
    let k = Kamailio::start();
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    p.run_ok(&["settings", "set", "softphone.auto_answer", "true"]);
    p.run_ok(&["settings", "set", "softphone.auto_answer_seconds", "1"]);
    let (_daemon, events) = registered(&p);
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let incoming = next_event(&events, "call.incoming");
    assert_eq!(incoming["number"], "carol");
    assert_eq!(incoming["direction"], "inbound");
    let answered = next_event(&events, "call.answered");
    assert_eq!(answered["callid"], incoming["callid"]);
}

#[test]
fn call_waiting_off_answers_a_second_caller_busy() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    p.run_ok(&["settings", "set", "softphone.call_waiting", "false"]);
    let (d, events) = registered(&p);
    d.call("phone.dial", json!({"number": "bob"})).unwrap();
    next_event(&events, "call.answered");
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let ended = next_event(&events, "call.ended");
    assert_eq!(ended["number"], "carol");
    assert_eq!(ended["result"], "busy");
    wait_for(WAIT, || carol.log().contains("486").then_some(()))
        .unwrap_or_else(|| panic!("carol did not hear busy:\n{}", carol.log()));
    drop(bob);
}

#[test]
fn incoming_call_rings_until_answered_by_hand() {
    let k = Kamailio::start();
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    let (d, events) = registered(&p);
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let incoming = next_event(&events, "call.incoming");
    let callid = incoming["callid"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_secs(1));
    let calls = d.call("phone.calls", json!(null)).unwrap();
    assert_eq!(calls[0]["state"], "ringing", "no auto answer unless enabled: {calls}");
    d.call("phone.answer", json!({"callid": callid})).unwrap();
    assert_eq!(next_event(&events, "call.answered")["callid"], callid.as_str());
    wait_for(WAIT, || carol.log().contains("established").then_some(()))
        .unwrap_or_else(|| panic!("carol's call never established:\n{}", carol.log()));
    d.call("phone.hangup", json!({"callid": callid})).unwrap();
    let ended = next_event(&events, "call.ended");
    assert_eq!((ended["direction"].as_str(), ended["result"].as_str()), (Some("inbound"), Some("answered")));
}

#[test]
fn blind_transfer_hands_the_call_to_a_third_party() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let carol = Bot::start(&k, "carol", "auto");
    let p = phone(&k, "udp", "alicepw");
    let (d, events) = registered(&p);
    let callid =
        d.call("phone.dial", json!({"number": "bob"})).unwrap()["callid"].as_str().unwrap().to_string();
    next_event(&events, "call.answered");
    d.call("phone.transfer", json!({"callid": callid, "target": "carol"})).unwrap();
    let transferred = next_event(&events, "call.transferred");
    assert_eq!(transferred["transferred_to"], "carol");
    assert_eq!(next_event(&events, "call.ended")["callid"], callid.as_str());
    // bob followed the REFER: carol now talks to bob, not to us.
    wait_for(WAIT, || carol.log().contains("sip:bob@").then_some(()))
        .unwrap_or_else(|| panic!("carol got no call from bob:\n{}\nbob:\n{}", carol.log(), bob.log()));
    wait_for(WAIT, || (carol.log().matches("established").count() >= 1).then_some(()))
        .unwrap_or_else(|| panic!("bob-carol never established:\n{}", carol.log()));
}

#[test]
fn attended_transfer_joins_the_two_far_ends() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let carol = Bot::start(&k, "carol", "auto");
    let p = phone(&k, "udp", "alicepw");
    let (d, events) = registered(&p);
    let first =
        d.call("phone.dial", json!({"number": "bob"})).unwrap()["callid"].as_str().unwrap().to_string();
    next_event(&events, "call.answered");
    d.call("phone.hold", json!({"callid": first})).unwrap();
    next_event(&events, "call.held");
    let consult =
        d.call("phone.dial", json!({"number": "carol"})).unwrap()["callid"].as_str().unwrap().to_string();
    assert_eq!(next_event(&events, "call.answered")["callid"], consult.as_str());
    d.call("phone.transfer", json!({"callid": first, "attended_callid": consult})).unwrap();
    next_event(&events, "call.transferred");
    // Both of our calls end; bob and carol stay connected to each other.
    let mut ended = [next_event(&events, "call.ended"), next_event(&events, "call.ended")]
        .map(|e| e["callid"].as_str().unwrap().to_string());
    ended.sort();
    let mut ours = [first, consult];
    ours.sort();
    assert_eq!(ended, ours);
    wait_for(WAIT, || carol.log().contains("sip:bob@").then_some(()))
        .unwrap_or_else(|| panic!("bob never reached carol:\n{}\nbob:\n{}", carol.log(), bob.log()));
    let invite = bob.log();
    assert!(invite.contains("carol"), "bob dialed the transfer target:\n{invite}");
}

#[test]
fn hidden_caller_id_reaches_the_far_end_as_anonymous() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let p = phone(&k, "udp", "alicepw");
    let (d, events) = registered(&p);
    let dialed = d.call("phone.dial", json!({"number": "bob", "hide_caller_id": true})).unwrap();
    next_event(&events, "call.answered");
    let log = bob.log();
    assert!(log.contains("anonymous@anonymous.invalid"), "bob saw who called:\n{log}");
    assert!(!log.contains("sip:alice@"), "bob saw alice:\n{log}");
    d.call("phone.hangup", json!({"callid": dialed["callid"]})).unwrap();
    next_event(&events, "call.ended");
}

/// The emergency trunk is SIPp: Kamailio routes 911 to it, and it logs the INVITE.
#[test]
fn emergency_call_carries_a_valid_pidf_lo() {
    let psap = Sipp::uas(sipp_scenario("uas.xml").to_str().unwrap());
    let k = Kamailio::start_with(&[("SIP_ROUTES", format!("911=127.0.0.1:{}", psap.port))]);
    let p = phone(&k, "udp", "alicepw");
    set(&p, "softphone.server_locality", "US");
    let location = json!({
        "name": "HQ", "country": "US", "state": "TX", "city": "Austin", "street": "Congress",
        "street_suffix": "Ave", "number": "100", "postal_code": "78701", "floor": "3", "room": "301 <east>"
    });
    set(&p, "softphone.emergency_location", &location.to_string());
    let (d, events) = registered(&p);
    let dialed = d.call("phone.dial", json!({"number": "911"})).unwrap();
    next_event(&events, "call.answered");
    d.call("phone.hangup", json!({"callid": dialed["callid"]})).unwrap();
    next_event(&events, "call.ended");

    let log = psap.messages();
    let start = log.find("INVITE sip:911@").unwrap_or_else(|| panic!("no INVITE reached the PSAP:\n{log}"));
    let invite = &log[start..];
    let invite = &invite[..invite.find("\n----").unwrap_or(invite.len())];
    let (head, body) = invite.split_once("\n\n").or_else(|| invite.split_once("\r\n\r\n")).expect("a body");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} header:\n{head}"))
    };
    // RFC 6442: Geolocation names the body part by Content-ID; routing on location is allowed.
    let geolocation = header("Geolocation");
    let cid = geolocation.trim_start_matches("<cid:").trim_end_matches('>').to_string();
    assert_eq!(header("Geolocation-Routing"), "yes");
    let content_type = header("Content-Type");
    let boundary = content_type.split("boundary=").nth(1).expect("multipart boundary").trim_matches('"');
    let parts: Vec<&str> = body.split(&format!("--{boundary}")).collect();
    let sdp = parts.iter().find(|p| p.contains("application/sdp")).expect("an SDP part");
    assert!(sdp.contains("m=audio "), "{sdp}");
    let pidf_part = parts
        .iter()
        .find(|p| p.contains("application/pidf+xml"))
        .unwrap_or_else(|| panic!("no PIDF-LO part:\n{body}"));
    assert!(pidf_part.contains(&format!("Content-ID: <{cid}>")), "Geolocation {geolocation} names no part");
    let xml = &pidf_part[pidf_part.find("<?xml").expect("an XML document")..];
    let doc =
        roxmltree::Document::parse(xml.trim()).unwrap_or_else(|e| panic!("PIDF-LO is not XML: {e}\n{xml}"));

    // RFC 4119 / RFC 5491: presence > device > geopriv > location-info > civicAddress,
    // and the device carries its deviceID.
    const PIDF: &str = "urn:ietf:params:xml:ns:pidf";
    const DM: &str = "urn:ietf:params:xml:ns:pidf:data-model";
    const GP: &str = "urn:ietf:params:xml:ns:pidf:geopriv10";
    const CA: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr";
    let root = doc.root_element();
    assert_eq!((root.tag_name().namespace(), root.tag_name().name()), (Some(PIDF), "presence"));
    assert!(root.attribute("entity").unwrap().starts_with("sip:alice@"));
    fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, ns: &str, name: &str) -> roxmltree::Node<'a, 'i> {
        n.children()
            .find(|c| c.tag_name().namespace() == Some(ns) && c.tag_name().name() == name)
            .unwrap_or_else(|| panic!("<{name}> missing under <{}>", n.tag_name().name()))
    }
    let device = child(root, DM, "device");
    assert!(child(device, DM, "deviceID").text().unwrap().starts_with("urn:uuid:"));
    let geopriv = child(device, GP, "geopriv");
    child(geopriv, GP, "usage-rules");
    let civic = child(child(geopriv, GP, "location-info"), CA, "civicAddress");
    let field = |name: &str| child(civic, CA, name).text().unwrap_or_default().to_string();
    assert_eq!(
        [field("country"), field("A1"), field("A3"), field("RD"), field("HNO"), field("FLR"), field("ROOM")],
        ["US", "TX", "Austin", "Congress", "100", "3", "301 <east>"].map(String::from)
    );
}

#[test]
fn a_restarted_registrar_gets_the_registration_back() {
    let mut k = Kamailio::start();
    let p = phone(&k, "udp", "alicepw");
    set(&p, "softphone.keep_alive_interval", "5");
    let d = p.daemon();
    wait_registration(&d, "registered");
    // While the registrar is up its answers to the keep-alives keep the registration as
    // it is: over two intervals, no re-registration.
    let registrations = Lines::spawn(p.command(&["events", "--topic", "phone.registration"]));
    std::thread::sleep(Duration::from_secs(12));
    let mut seen = Vec::new();
    while let Some(line) = registrations.next(Duration::from_millis(100)) {
        seen.push(line);
    }
    assert!(!seen.iter().any(|l| l.contains("registering")), "pings went unanswered: {seen:?}");
    k.stop();
    // The keep-alive notices the registrar is gone.
    let lost = wait_for(Duration::from_secs(30), || {
        Some(status(&d)).filter(|s| s["registration"]["state"] != "registered")
    })
    .unwrap_or_else(|| panic!("the outage went unnoticed: {}", status(&d)));
    assert!(lost["registration"]["reason"].as_str().is_some(), "{lost}");
    k.restart();
    wait_for(Duration::from_secs(45), || {
        Some(status(&d)).filter(|s| s["registration"]["state"] == "registered")
    })
    .unwrap_or_else(|| panic!("never registered again: {}\n{}", status(&d), d.log()));
    // The new Kamailio knows where alice is: a call reaches her.
    let events = Lines::spawn(p.command(&["events", "--topic", "call."]));
    std::thread::sleep(Duration::from_millis(300));
    let bob = Bot::start(&k, "bob", "auto");
    bob.command("dial", &format!("sip:alice@{}", k.addr()));
    assert_eq!(next_event(&events, "call.incoming")["number"], "bob");
}

/// SRV gives three registrars in priority order; the first is dead, the second takes
/// the registration, and when it dies the phone fails over to the third.
#[test]
fn srv_failover_skips_a_dead_registrar_and_moves_on_when_one_dies() {
    let dead = free_port();
    let mut k1 = Kamailio::start_with(&[("SIP_DOMAINS", "lab.test".into())]);
    let k2 = Kamailio::start_with(&[("SIP_DOMAINS", "lab.test".into())]);
    let dns = Dns::start(
        &[
            ("_sip._udp.lab.test", "sip0.lab.test", dead, 10, 10),
            ("_sip._udp.lab.test", "sip1.lab.test", k1.udp, 20, 10),
            ("_sip._udp.lab.test", "sip2.lab.test", k2.udp, 30, 10),
        ],
        &[("sip0.lab.test", "127.0.0.1"), ("sip1.lab.test", "127.0.0.1"), ("sip2.lab.test", "127.0.0.1")],
    );
    let p = phone(&k1, "udp", "alicepw");
    set(&p, "softphone.server", "lab.test");
    set(&p, "softphone.dns_server", &dns.addr());
    set(&p, "softphone.keep_alive_interval", "5");
    let d = p.daemon();
    let s = wait_for(Duration::from_secs(30), || {
        Some(status(&d)).filter(|s| s["registration"]["state"] == "registered")
    })
    .unwrap_or_else(|| panic!("never registered: {}\n{}", status(&d), d.log()));
    let on =
        |s: &Value, port: u16| s["registration"]["server"].as_str().unwrap().contains(&format!(":{port} "));
    assert!(on(&s, k1.udp), "registered on the second record: {s}");
    k1.stop();
    let s = wait_for(Duration::from_secs(40), || {
        Some(status(&d)).filter(|s| s["registration"]["state"] == "registered" && on(s, k2.udp))
    })
    .unwrap_or_else(|| panic!("no failover to the third record: {}\n{}", status(&d), d.log()));
    assert!(on(&s, k2.udp), "{s}");
}

#[test]
fn malformed_sip_does_not_take_the_phone_down() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let p = phone(&k, "udp", "alicepw");
    let port = free_port();
    set(&p, "softphone.local_port", &port.to_string());
    let d = p.daemon();
    wait_registration(&d, "registered");

    // Raw noise first: empty, binary, a huge datagram, a truncated request.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = ("127.0.0.1", port);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for len in [0usize, 1, 3, 17, 512, 1400, 8000, 60_000] {
        let noise: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        sock.send_to(&noise, to).unwrap();
    }
    sock.send_to(b"INVITE sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP", to).unwrap();
    sock.send_to(b"SIP/2.0 999999 \xff\xfe\r\n\r\n", to).unwrap();

    // Then SIPp's hostile scenario: it only sends, so it succeeds once all is sent.
    let (sent, trace) = run_sipp(&p, "malformed.xml", port);
    assert!(sent, "sipp failed:\n{trace}");

    // Still registered, still answering, and still able to call.
    assert_eq!(status(&d)["registration"]["state"], "registered");
    let events = Lines::spawn(p.command(&["events", "--topic", "call."]));
    std::thread::sleep(Duration::from_millis(300));
    let dialed = d.call("phone.dial", json!({"number": "bob"})).unwrap();
    next_event(&events, "call.answered");
    d.call("phone.hangup", json!({"callid": dialed["callid"]})).unwrap();
    next_event(&events, "call.ended");
    let log = d.log();
    assert!(!log.contains("panicked"), "{log}");
    drop(bob);
}

#[test]
fn do_not_disturb_rejects_and_logging_out_unregisters() {
    let k = Kamailio::start();
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    set(&p, "softphone.dnd", "true");
    // Listing the plugins without the app running starts none: nothing registers.
    let softphone = ucdesk_tests::entry(&p.plugins(), "softphone").clone();
    assert_eq!(softphone["state"], "installed", "{softphone}");
    assert!(!k.process.file("kamailio.log").contains("register alice"), "a listing registered");
    let (d, events) = registered(&p);
    let alice = format!("sip:alice@{}", k.addr());
    carol.command("dial", &alice);
    let ended = next_event(&events, "call.ended");
    assert_eq!((ended["number"].as_str(), ended["result"].as_str()), (Some("carol"), Some("rejected")));
    wait_for(WAIT, || carol.log().contains("486").then_some(()))
        .unwrap_or_else(|| panic!("carol was not refused busy:\n{}", carol.log()));

    // Quitting unregisters: the registrar no longer knows where alice is.
    let (clean, log) = d.stop();
    assert!(clean, "{log}");
    carol.command("dial", &alice);
    wait_for(WAIT, || carol.log().contains("404").then_some(()))
        .unwrap_or_else(|| panic!("alice still registered after quitting:\n{}", carol.log()));
    // ... in the registration's own dialog: one Call-ID, CSeq rising, the last with
    // Expires 0 (RFC 3261 §10.2.2).
    let registrar = k.process.file("kamailio.log");
    let registers: Vec<(String, u32, String)> = registrar
        .lines()
        .filter_map(|l| l.split_once("register alice callid=")?.1.split_once(" cseq="))
        .filter_map(|(callid, rest)| {
            let (cseq, expires) = rest.split_once(" expires=")?;
            Some((callid.to_string(), cseq.parse().ok()?, expires.trim().to_string()))
        })
        .collect();
    assert!(registers.len() >= 2, "a register and an unregister:\n{registrar}");
    assert!(registers.iter().all(|r| r.0 == registers[0].0), "one Call-ID: {registers:?}");
    assert!(registers.windows(2).all(|w| w[0].1 < w[1].1), "CSeq rises: {registers:?}");
    assert_eq!(registers.last().unwrap().2, "0", "{registers:?}");
}

/// A refusal says why, as a reason the caller can act on: a bad request names its
/// field, an unknown call is not found, a phone without registration is not ready.
#[test]
fn refusals_say_why() {
    let k = Kamailio::start();
    let p = phone(&k, "udp", "alicepw");
    let (d, _events) = registered(&p);
    let (reason, message) = d.refusal("phone.hold", json!({"callid": 7}));
    assert_eq!(reason.as_deref(), Some("bad_request"), "{message}");
    assert!(message.contains("field 'callid'"), "{message}");
    let (reason, message) = d.refusal("phone.hangup", json!({"callid": "nope:1@host"}));
    assert_eq!((reason.as_deref(), message.as_str()), (Some("not_found"), "no call nope:1@host"));
    let (reason, message) = d.refusal("phone.dial", json!({"number": "201", "hide_caller_id": "yes"}));
    assert_eq!(reason.as_deref(), Some("bad_request"), "{message}");
    drop(d);

    let p = phone(&k, "udp", "wrong");
    let d = p.daemon();
    wait_registration(&d, "auth_failed");
    let (reason, message) = d.refusal("phone.dial", json!({"number": "bob"}));
    assert_eq!(reason.as_deref(), Some("not_ready"), "{message}");
    assert!(message.contains("not registered"), "{message}");
}

/// The phone panel's do-not-disturb toggle stores the setting, and the engine hears of
/// it like any other settings change: the toggle stays on and callers get 486.
#[test]
fn dnd_toggled_in_the_panel_reaches_the_engine() {
    use ucdesk_kernel::control::Request;
    use ucdesk_plugin_api::view::{UiAction, UiEvent};
    let k = Kamailio::start();
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    let (d, events) = registered(&p);
    assert_eq!(status(&d)["dnd"], false);
    let toggle = UiEvent { widget: "dnd".into(), action: UiAction::Changed { value: json!(true) } };
    d.client()
        .request(&Request::Ui { plugin: "softphone".into(), panel: "phone".into(), event: Box::new(toggle) })
        .unwrap();
    wait_for(WAIT, || (status(&d)["dnd"] == true).then_some(()))
        .unwrap_or_else(|| panic!("phone.status never says dnd: {}\n{}", status(&d), d.log()));
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let ended = next_event(&events, "call.ended");
    assert_eq!(ended["result"], "rejected", "{ended}");
    wait_for(WAIT, || carol.log().contains("486").then_some(()))
        .unwrap_or_else(|| panic!("carol was not refused busy:\n{}", carol.log()));
}

/// A caller (SIPp) sends an INVITE without SDP: we offer in the 200 OK, take the answer
/// from its ACK, and the call runs until it hangs up.
#[test]
fn an_invite_without_an_offer_is_answered_with_one() {
    let k = Kamailio::start();
    let p = phone(&k, "udp", "alicepw");
    let port = free_port();
    set(&p, "softphone.local_port", &port.to_string());
    set(&p, "softphone.auto_answer", "true");
    set(&p, "softphone.auto_answer_seconds", "1");
    let (d, events) = registered(&p);
    let (ok, trace) = run_sipp(&p, "delayed_offer.xml", port);
    assert!(ok, "sipp failed:\n{trace}\n{}", d.log());
    let answered = next_event(&events, "call.answered");
    assert_eq!(answered["number"], "trunk");
    let ended = next_event(&events, "call.ended");
    assert_eq!(
        (ended["callid"].clone(), ended["result"].as_str()),
        (answered["callid"].clone(), Some("answered"))
    );
}

#[test]
fn ringing_calls_can_be_cancelled_and_rejected() {
    let k = Kamailio::start();
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    let (d, events) = registered(&p);

    // Outgoing, cancelled while carol's phone rings.
    let dialed = d.call("phone.dial", json!({"number": "carol"})).unwrap();
    next_event(&events, "call.ringing");
    d.call("phone.hangup", json!({"callid": dialed["callid"]})).unwrap();
    assert_eq!(next_event(&events, "call.ended")["result"], "cancelled");

    // Incoming, rejected: carol hears 603 Decline.
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let incoming = next_event(&events, "call.incoming");
    d.call("phone.hangup", json!({"callid": incoming["callid"]})).unwrap();
    assert_eq!(next_event(&events, "call.ended")["result"], "rejected");
    wait_for(WAIT, || carol.log().contains("603").then_some(()))
        .unwrap_or_else(|| panic!("carol did not hear the rejection:\n{}", carol.log()));
}

#[test]
fn auto_answer_waits_for_a_free_line_and_stop_cancels_it() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    set(&p, "softphone.auto_answer", "true");
    set(&p, "softphone.auto_answer_seconds", "1");
    let (d, events) = registered(&p);
    let alice = format!("sip:alice@{}", k.addr());

    // Stop during the countdown: the call keeps ringing.
    carol.command("dial", &alice);
    let first = next_event(&events, "call.incoming");
    d.call("phone.stop_auto_answer", json!({"callid": first["callid"]})).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let calls = d.call("phone.calls", json!(null)).unwrap();
    assert_eq!(calls[0]["state"], "ringing", "{calls}");
    d.call("phone.hangup", json!({"callid": first["callid"]})).unwrap();
    next_event(&events, "call.ended");

    // Never while another call is active.
    let dialed = d.call("phone.dial", json!({"number": "bob"})).unwrap();
    next_event(&events, "call.answered");
    carol.command("dial", &alice);
    let second = next_event(&events, "call.incoming");
    std::thread::sleep(Duration::from_secs(2));
    let calls = d.call("phone.calls", json!(null)).unwrap();
    let waiting = calls.as_array().unwrap().iter().find(|c| c["callid"] == second["callid"]).unwrap();
    assert_eq!(waiting["state"], "ringing", "{calls}");
    d.call("phone.hangup", json!({"callid": dialed["callid"]})).unwrap();
    drop(bob);
}

/// bob (baresip) transfers us to carol: we follow the REFER, report progress, and end
/// up talking to carol while bob's leg ends.
#[test]
fn being_transferred_by_the_far_end_calls_the_target() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let carol = Bot::start(&k, "carol", "auto");
    let p = phone(&k, "udp", "alicepw");
    let (d, events) = registered(&p);
    let first =
        d.call("phone.dial", json!({"number": "bob"})).unwrap()["callid"].as_str().unwrap().to_string();
    next_event(&events, "call.answered");
    bob.command("transfer", &format!("sip:carol@{}", k.addr()));
    let second = next_event(&events, "call.answered");
    assert_ne!(second["callid"], first.as_str());
    assert!(second["number"].as_str().unwrap().contains("carol"), "{second}");
    let transferred = next_event(&events, "call.transferred");
    assert_eq!(transferred["callid"], first.as_str());
    assert_eq!(
        next_event(&events, "call.ended")["callid"],
        first.as_str(),
        "bob hangs up once carol answers"
    );
    wait_for(WAIT, || carol.log().contains("established: sip:alice@").then_some(()))
        .unwrap_or_else(|| panic!("carol is not talking to alice:\n{}\nbob:\n{}", carol.log(), bob.log()));
    // The list follows the events a moment later (it is refreshed after each change).
    wait_for(WAIT, || {
        d.call("phone.calls", json!(null)).ok().filter(|c| c.as_array().is_some_and(|a| a.len() == 1))
    })
    .unwrap_or_else(|| panic!("only the call with carol is left: {:?}", d.call("phone.calls", json!(null))));
}
