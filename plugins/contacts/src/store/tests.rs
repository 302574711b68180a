use super::*;
use ucdesk_sdk::contract::contacts::PhoneNumber;

fn contact(id: &str, name: &str, number: &str, department: &str) -> Contact {
    Contact {
        id: id.into(),
        name: name.into(),
        department: (!department.is_empty()).then(|| department.to_string()),
        numbers: vec![PhoneNumber { label: "work".into(), number: number.into(), e164: None }],
        ..Default::default()
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("contacts.db")).unwrap();
    (dir, s)
}

fn names(entries: &[ucdesk_sdk::contract::contacts::Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

fn text(t: &str) -> Query {
    Query { text: t.into(), ..Default::default() }
}

#[test]
fn searches_substrings_of_names_and_digits_of_numbers_with_prefixes_first() {
    let (_d, mut s) = store();
    let book = [
        contact("1", "Ann Smithers", "+1 555 0100 001", "Sales"),
        contact("2", "Blacksmith Joe", "+1 555 0100 002", "Support"),
        contact("3", "Smith Carol", "201", "Sales"),
    ];
    s.replace_source("ldap", &book, 1).unwrap();
    assert_eq!(s.rebuild("", false).unwrap(), 3);
    assert_eq!(names(&s.search(&text("smith")).unwrap()), ["Smith Carol", "Ann Smithers", "Blacksmith Joe"]);
    assert_eq!(names(&s.search(&text("555-0100-002")).unwrap()), ["Blacksmith Joe"]);
    assert_eq!(names(&s.search(&text("sm")).unwrap()), ["Smith Carol", "Ann Smithers"], "word prefixes");
    let sales = Query { department: Some("Sales".into()), ..Default::default() };
    assert_eq!(names(&s.search(&sales).unwrap()), ["Ann Smithers", "Smith Carol"]);
    assert_eq!(s.departments().unwrap(), ["Sales", "Support"]);
    assert_eq!(s.lookup("201", "").unwrap().map(|e| e.name), Some("Smith Carol".into()));
    assert_eq!(s.lookup("+15550100001", "").unwrap().map(|e| e.name), Some("Ann Smithers".into()));
    assert!(s.search(&text("\"; DROP TABLE directory; --")).unwrap().is_empty(), "quotes are text");
    assert_eq!(
        names(&s.search(&text("smith &")).unwrap()),
        ["Smith Carol", "Ann Smithers"],
        "signs are no words"
    );
    assert!(s.search(&text("& -")).unwrap().is_empty());
    let ldap = Query { source: Some("ldap".into()), ..Default::default() };
    assert_eq!(s.search(&ldap).unwrap().len(), 3);
    let odd = Query { source: Some("l_ap".into()), ..Default::default() };
    assert!(s.search(&odd).unwrap().is_empty(), "a source name is not a pattern");
}

#[test]
fn marks_outlive_a_resync_and_hidden_entries_leave_the_lists() {
    let (_d, mut s) = store();
    s.replace_source("ldap", &[contact("1", "Ann", "100", ""), contact("2", "Ben", "101", "")], 1).unwrap();
    s.rebuild("", false).unwrap();
    let ann = s.search(&text("ann")).unwrap().remove(0);
    s.mark_entry(&ann.id, Some(true), None).unwrap();
    let ben = s.entry("ldap/2").unwrap();
    s.mark_entry(&ben.id, None, Some(true)).unwrap();
    assert_eq!(names(&s.search(&text("")).unwrap()), ["Ann"]);
    s.replace_source("ldap", &[contact("1", "Ann B.", "100", ""), contact("2", "Ben", "101", "")], 2)
        .unwrap();
    s.rebuild("", false).unwrap();
    let favorites = Query { favorites_only: true, ..Default::default() };
    assert_eq!(names(&s.search(&favorites).unwrap()), ["Ann B."]);
    let hidden = Query { hidden: Some(true), ..Default::default() };
    assert_eq!(names(&s.search(&hidden).unwrap()), ["Ben"]);
    s.mark_entry("ldap/2", None, Some(false)).unwrap();
    assert_eq!(names(&s.search(&text("")).unwrap()), ["Ann B.", "Ben"]);
}

#[test]
fn a_source_replaced_loses_removed_records_and_a_failure_keeps_the_copy() {
    let (_d, mut s) = store();
    s.replace_source("carddav", &[contact("a", "Ann", "100", ""), contact("b", "Ben", "101", "")], 1)
        .unwrap();
    s.replace_source("carddav", &[contact("a", "Ann", "100", "")], 2).unwrap();
    s.sync_failed("carddav", "connection refused").unwrap();
    s.rebuild("", false).unwrap();
    assert_eq!(names(&s.search(&text("")).unwrap()), ["Ann"]);
    let sources = s.sources().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(
        (sources[0].contacts, sources[0].synced_ms, sources[0].error.as_deref()),
        (1, Some(2), Some("connection refused"))
    );
    assert!(matches!(s.entry("carddav/b"), Err(StoreError::NoEntry(_))));
}
