//! The room configuration as XEP-0045 §10.2 has an owner do it: ask the room for its
//! form, then submit only fields the form offers, each need of a group mapped onto the
//! name this server gives it. Servers differ (Prosody calls archiving
//! `muc#roomconfig_enablearchiving`, ejabberd `mam`), and a server refuses a form that
//! carries a field it did not offer; what it cannot give is said, not assumed.

use super::groups::MUC_OWNER;
use super::{child, el, with_text};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::ns;

const ROOMCONFIG: &str = "http://jabber.org/protocol/muc#roomconfig";

/// What a group needs of its room, the field names servers use for it (first offered
/// wins), and how a person would name it when it is missing.
const NEEDS: [(&[&str], &str); 4] = [
    (&["muc#roomconfig_persistentroom"], "persistence"),
    (&["muc#roomconfig_membersonly"], "members-only"),
    (&["muc#roomconfig_whois"], "real addresses"),
    (&["muc#roomconfig_enablearchiving", "mam", "muc#roomconfig_mam"], "archiving"),
];

/// Every need, as [`fill_room_form`] names the missing ones.
pub const ROOM_NEEDS: [&str; 4] = [NEEDS[0].1, NEEDS[1].1, NEEDS[2].1, NEEDS[3].1];

/// One field of a form the server sent: its name, type and the values it allows.
#[derive(Debug, Clone, PartialEq)]
struct Offered {
    var: String,
    kind: String,
    options: Vec<String>,
}

/// The form a room's owner query answered with (empty when there is none).
fn offered(query: &Element) -> (Option<String>, Vec<Offered>) {
    let Some(x) = query.get_child("x", ns::DATA_FORMS) else { return (None, Vec::new()) };
    let mut form_type = None;
    let mut fields = Vec::new();
    for f in x.children().filter(|c| c.is("field", ns::DATA_FORMS)) {
        let Some(var) = f.attr("var") else { continue };
        if var == "FORM_TYPE" {
            form_type = f.get_child("value", ns::DATA_FORMS).map(|v| v.text());
            continue;
        }
        let options = f
            .children()
            .filter(|o| o.is("option", ns::DATA_FORMS))
            .filter_map(|o| o.get_child("value", ns::DATA_FORMS).map(|v| v.text()))
            .collect();
        fields.push(Offered {
            var: var.to_string(),
            kind: f.attr("type").unwrap_or("text-single").to_string(),
            options,
        });
    }
    (form_type, fields)
}

/// The value that gives `need` through this field, when the field can give it.
fn value_for(need: &str, f: &Offered) -> Option<&'static str> {
    match (need, f.kind.as_str()) {
        ("real addresses", "list-single") => {
            // Members are not moderators: only "anyone" shows them each other.
            (f.options.is_empty() || f.options.iter().any(|o| o == "anyone")).then_some("anyone")
        }
        (_, "boolean") => Some("1"),
        _ => None,
    }
}

/// What to submit to a room that answered its owner query with `query`, for a group
/// called `name`; and the needs this server's form cannot meet (for the user to hear).
pub fn fill_room_form(query: &Element, name: &str) -> (Element, Vec<&'static str>) {
    let (form_type, fields) = offered(query);
    let mut form = el("x", ns::DATA_FORMS, &[("type", "submit")]);
    let mut add = |var: &str, value: &str| {
        let field = el("field", ns::DATA_FORMS, &[("var", var)]);
        form.append_child(child(field, with_text(el("value", ns::DATA_FORMS, &[]), value)));
    };
    add("FORM_TYPE", form_type.as_deref().unwrap_or(ROOMCONFIG));
    if fields.iter().any(|f| f.var == "muc#roomconfig_roomname") {
        add("muc#roomconfig_roomname", name);
    }
    let mut missing = Vec::new();
    for (vars, need) in NEEDS {
        let found = vars
            .iter()
            .find_map(|v| fields.iter().find(|f| f.var == *v))
            .and_then(|f| value_for(need, f).map(|value| (f.var.clone(), value)));
        match found {
            Some((var, value)) => add(&var, value),
            None => missing.push(need),
        }
    }
    (child(el("query", MUC_OWNER, &[]), form), missing)
}

/// The owner query that asks a room for its configuration form.
pub fn room_form_get() -> Element {
    el("query", MUC_OWNER, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &str) -> Element {
        format!(
            "<query xmlns='{MUC_OWNER}'><x xmlns='jabber:x:data' type='form'>\
             <field var='FORM_TYPE' type='hidden'><value>{ROOMCONFIG}</value></field>{fields}</x></query>"
        )
        .parse()
        .unwrap()
    }

    fn submitted(e: &Element) -> Vec<(String, String)> {
        let x = e.get_child("x", ns::DATA_FORMS).unwrap();
        x.children()
            .map(|f| {
                (f.attr("var").unwrap().to_string(), f.get_child("value", ns::DATA_FORMS).unwrap().text())
            })
            .collect()
    }

    const WHOIS: &str = "<field var='muc#roomconfig_whois' type='list-single'>\
        <option><value>moderators</value></option><option><value>anyone</value></option></field>";

    #[test]
    fn ejabberds_names_are_used_and_nothing_unoffered_is_sent() {
        let q = form(&format!(
            "<field var='muc#roomconfig_roomname' type='text-single'/>\
             <field var='muc#roomconfig_persistentroom' type='boolean'/>\
             <field var='muc#roomconfig_membersonly' type='boolean'/>{WHOIS}\
             <field var='mam' type='boolean'/><field var='muc#roomconfig_allowinvites' type='boolean'/>"
        ));
        let (submit, missing) = fill_room_form(&q, "Sales");
        assert!(missing.is_empty(), "{missing:?}");
        let fields = submitted(&submit);
        let vars: Vec<&str> = fields.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(
            vars,
            [
                "FORM_TYPE",
                "muc#roomconfig_roomname",
                "muc#roomconfig_persistentroom",
                "muc#roomconfig_membersonly",
                "muc#roomconfig_whois",
                "mam"
            ]
        );
        assert!(fields.contains(&("muc#roomconfig_whois".into(), "anyone".into())));
        assert!(fields.contains(&("muc#roomconfig_roomname".into(), "Sales".into())));
    }

    #[test]
    fn what_the_server_cannot_give_is_named() {
        let moderators_only = "<field var='muc#roomconfig_whois' type='list-single'>\
            <option><value>moderators</value></option></field>";
        let q =
            form(&format!("<field var='muc#roomconfig_persistentroom' type='boolean'/>{moderators_only}"));
        let (submit, missing) = fill_room_form(&q, "x");
        assert_eq!(missing, ["members-only", "real addresses", "archiving"]);
        let vars: Vec<String> = submitted(&submit).into_iter().map(|(v, _)| v).collect();
        assert_eq!(vars, ["FORM_TYPE", "muc#roomconfig_persistentroom"]);
        // No form at all: everything is missing, and the submit is still well formed.
        let (_, missing) = fill_room_form(&el("query", MUC_OWNER, &[]), "x");
        assert_eq!(missing.len(), 4);
    }
}
