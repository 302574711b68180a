//! The peer of the archive sync benchmarks: a bare tokio-xmpp client that logs in and
//! pages through the account's whole archive (250 per page, like ours), counting the
//! results and storing nothing. Included by `chat_sync.rs` and `sms_sync.rs`.

use futures::StreamExt;
use std::time::{Duration, Instant};
use tokio_xmpp::connect::DnsConfig;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, Stanza};
use ucdesk_tests::lab::Prosody;

/// Fetches `user@localhost`'s archive: (time from the first query to the last page,
/// results).
pub async fn fetch(x: &Prosody, user: &str, password: &str) -> (Duration, usize) {
    let jid: tokio_xmpp::jid::Jid = format!("{user}@localhost").parse().unwrap();
    let mut client = Client::new_starttls(jid, password, DnsConfig::addr(&x.server()), Timeouts::tight());
    loop {
        match client.next().await {
            Some(Event::Online { .. }) => break,
            Some(Event::Disconnected(e)) => panic!("bare client: {e}"),
            Some(_) => {}
            None => panic!("bare client: stream ended"),
        }
    }
    let t0 = Instant::now();
    let (mut count, mut after, mut page) = (0usize, None::<String>, 0);
    loop {
        page += 1;
        let mut q = format!(
            "<query xmlns='urn:xmpp:mam:2' queryid='q{page}'><set xmlns='http://jabber.org/protocol/rsm'><max>250</max>"
        );
        if let Some(a) = &after {
            q.push_str(&format!("<after>{a}</after>"));
        }
        q.push_str("</set></query>");
        let payload: Element = q.parse().unwrap();
        let id = format!("page{page}");
        client.send_stanza(Iq::Set { from: None, to: None, id: id.clone(), payload }.into()).await.unwrap();
        let fin = loop {
            match client.next().await {
                Some(Event::Stanza(Stanza::Message(m))) => {
                    count += m.payloads.iter().filter(|p| p.is("result", "urn:xmpp:mam:2")).count();
                }
                Some(Event::Stanza(Stanza::Iq(Iq::Result { id: rid, payload: Some(p), .. })))
                    if rid == id =>
                {
                    break p;
                }
                Some(Event::Disconnected(e)) => panic!("bare client: {e}"),
                None => panic!("bare client: stream ended"),
                _ => {}
            }
        };
        let complete = fin.attr("complete") == Some("true");
        after = fin
            .get_child("set", "http://jabber.org/protocol/rsm")
            .and_then(|s| s.get_child("last", "http://jabber.org/protocol/rsm"))
            .map(|l| l.text());
        if complete || after.is_none() {
            break;
        }
    }
    let t = t0.elapsed();
    let _ = client.send_end().await;
    (t, count)
}
