//! hello under the sdk's TestHost: the way a plugin author tests a plugin.

use ucdesk_sdk::serde_json::{self, json};
use ucdesk_sdk::{TestHost, UiAction, UiEvent};

#[test]
fn greets_and_announces() {
    let mut host = TestHost::load_built("hello").expect("hello is built by cargo test");
    assert_eq!(host.manifest().id, "hello");
    host.start().unwrap();
    let answer = host.call("hello.greet", &json!({"name": "Ada"})).unwrap();
    assert_eq!(answer, json!({"greeting": "Hello, Ada!"}));
    let published = host.published();
    assert_eq!(published.last().unwrap().topic, "hello.greeted");
    assert_eq!(published.last().unwrap().payload["greeting"], "Hello, Ada!");
}

#[test]
fn bad_requests_are_errors_not_failures() {
    let mut host = TestHost::load_built("hello").unwrap();
    host.start().unwrap();
    let err = host.call("hello.greet", &json!({"nom": "Ada"})).unwrap_err();
    assert!(!err.is_panic());
    assert!(err.message.contains("missing field `name`"), "{}", err.message);
    // Still healthy.
    assert!(host.call("hello.greet", &json!({"name": "Bo"})).is_ok());
}

#[test]
fn salutation_setting_is_checked_and_used() {
    let mut host = TestHost::load_built("hello").unwrap();
    host.start().unwrap();
    assert!(host.set_setting("salutation", json!(42)).is_err());
    host.set_setting("salutation", json!("Hi")).unwrap();
    let answer = host.call("hello.greet", &json!({"name": "Ada"})).unwrap();
    assert_eq!(answer["greeting"], "Hi, Ada!");
}

#[test]
fn counts_subscribed_events_and_updates_its_panel() {
    let mut host = TestHost::load_built("hello").unwrap();
    host.start().unwrap();
    assert!(host.emit("hello.ping", &json!({})).unwrap());
    assert!(!host.emit("other.ping", &json!({})).unwrap());
    assert_eq!(host.call("hello.stats", &json!({})).unwrap()["heard"], 1);
    host.ui("main", &UiEvent { widget: "name".into(), action: UiAction::Changed { value: json!("Cy") } })
        .unwrap();
    host.ui("main", &UiEvent { widget: "greet".into(), action: UiAction::Clicked }).unwrap();
    let view = serde_json::to_string(&host.published_view("main").unwrap()).unwrap();
    assert!(view.contains("Hello, Cy!"), "{view}");
}
