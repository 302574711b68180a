//! Typed UI actions: a plugin declares what its widgets do as one serde enum, views
//! name widgets by [`Action::id`], and `on_ui` gets the enum back with
//! [`Action::parse`], instead of splitting strings by hand.
//!
//! The id of a unit variant is its name (`dial`); a variant with data is its name, a
//! colon and the data as JSON (`answer:"a:b@host"`, `dtmf:{"callid":"x","key":"5"}`).
//! Variant names hold no colon, so the first one ends the name and the data keeps any
//! character it has (a SIP Call-ID may contain `:`).

use crate::Error;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// A plugin's widget actions; implemented for every serde type, meant for an enum
/// with `#[serde(rename_all = "snake_case")]`.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use ucdesk_sdk::Action;
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// #[serde(rename_all = "snake_case")]
/// enum Act { Dial, Answer(String), Dtmf { callid: String, key: String } }
///
/// assert_eq!(Act::Dial.id(), "dial");
/// let id = Act::Answer("a:1@host".into()).id();
/// assert_eq!(Act::parse(&id).unwrap(), Act::Answer("a:1@host".into()));
/// assert!(Act::parse("hangup:\"x\"").is_err());
/// ```
pub trait Action: Serialize + DeserializeOwned {
    /// The widget id that stands for this action.
    fn id(&self) -> String {
        match serde_json::to_value(self) {
            Ok(Value::String(name)) => name,
            Ok(Value::Object(map)) if map.len() == 1 => {
                let (name, data) = map.into_iter().next().expect("one entry");
                format!("{name}:{data}")
            }
            Ok(other) => other.to_string(),
            // A Serialize impl that fails is a bug in the plugin's action type.
            Err(e) => panic!("a UI action does not serialize: {e}"),
        }
    }

    /// The action a widget id stands for; an id this type does not have is an error
    /// naming it (log it: it is a view and handler out of step, not user input).
    fn parse(id: &str) -> Result<Self, Error> {
        let value = match id.split_once(':') {
            Some((name, data)) => {
                let data: Value = serde_json::from_str(data)
                    .map_err(|e| Error::bad_request(format!("widget id {id:?}: {e}")))?;
                Value::Object([(name.to_string(), data)].into_iter().collect())
            }
            None => Value::String(id.to_string()),
        };
        serde_json::from_value(value).map_err(|e| Error::bad_request(format!("widget id {id:?}: {e}")))
    }
}

impl<T: Serialize + DeserializeOwned> Action for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Act {
        Dial,
        Hangup(String),
        Merge { callid: String, with: String },
        Download { conversation: String, id: String, file: usize },
    }

    #[test]
    fn ids_round_trip_any_characters() {
        let odd = "a:b%c\"d'e{f}g h\u{e9}:".to_string();
        for act in [
            Act::Dial,
            Act::Hangup(odd.clone()),
            Act::Merge { callid: odd.clone(), with: "x:y".into() },
            Act::Download { conversation: "room@muc:1".into(), id: odd.clone(), file: 2 },
        ] {
            let id = act.id();
            assert_eq!(Act::parse(&id).unwrap(), act, "{id}");
        }
        assert_eq!(Act::Dial.id(), "dial");
        assert_eq!(Act::Hangup("c1".into()).id(), "hangup:\"c1\"");
    }

    #[test]
    fn unknown_or_malformed_ids_are_errors() {
        assert!(Act::parse("nothing").is_err());
        assert!(Act::parse("hangup:not json").is_err());
        assert!(Act::parse("dial:\"extra\"").is_err());
        assert!(Act::parse("").is_err());
    }
}
