//! Call popup templates: what a URL or program field says, and the call's values put
//! into it. A macro is `%name%` with one of the manual's twelve names; in a URL its value
//! is percent-encoded, in a program each argument is substituted on its own and handed
//! to the program as it is (no shell ever sees it). Anything that looks like a macro but
//! is not one (`%caller%`) stays as typed and is reported, so a typo is visible in the
//! module instead of silently sending an empty field.

use ucdesk_sdk::contract::phone::CallEvent;

/// The macros the manual lists, in its order.
pub const NAMES: [&str; 12] = [
    "callerid",
    "callerid_name",
    "ext",
    "ext_name",
    "duration",
    "callid",
    "did",
    "direction",
    "queue_number",
    "queue_name",
    "agent_number",
    "agent_name",
];

/// A call's value for each macro: what the network did not say is empty.
pub fn values(call: &CallEvent) -> [(&'static str, String); 12] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        ("callerid", call.number.clone()),
        ("callerid_name", opt(&call.name)),
        ("ext", opt(&call.ext)),
        ("ext_name", opt(&call.ext_name)),
        ("duration", call.duration.to_string()),
        ("callid", call.callid.clone()),
        ("did", opt(&call.did)),
        ("direction", call.direction.as_str().to_string()),
        ("queue_number", opt(&call.queue_number)),
        ("queue_name", opt(&call.queue_name)),
        ("agent_number", opt(&call.agent_number)),
        ("agent_name", opt(&call.agent_name)),
    ]
}

/// What a popup field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An `http(s)` URL; a field without a scheme (the manual's `yourcrm.com/calls?...`)
    /// is taken as `https://`.
    Url(String),
    /// A program path (absolute, or `~/`) and its argument templates.
    Program(Vec<String>),
}

/// Why a field cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("only http and https addresses can be opened, not {0}:")]
    Scheme(String),
    #[error("a program must be given by its full path (/usr/bin/...), not {0:?}")]
    RelativeProgram(String),
    #[error("unbalanced quotes in the program's arguments")]
    Quotes,
}

/// Reads a popup field. Programs are split into words the way a shell would split them
/// (spaces, single and double quotes, backslash escapes), but no shell runs them.
pub fn parse(field: &str) -> Result<Target, TemplateError> {
    let field = field.trim();
    if field.starts_with('/') || field.starts_with("~/") {
        let words = split_words(field)?;
        return Ok(Target::Program(words));
    }
    match field.split_once("://") {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {
            Ok(Target::Url(field.to_string()))
        }
        Some((scheme, _)) if !scheme.contains(['/', '?', '%']) => {
            Err(TemplateError::Scheme(scheme.to_string()))
        }
        _ if field.contains(' ') && !field.contains('/') => {
            Err(TemplateError::RelativeProgram(field.split(' ').next().unwrap_or(field).to_string()))
        }
        _ => Ok(Target::Url(format!("https://{field}"))),
    }
}

fn split_words(s: &str) -> Result<Vec<String>, TemplateError> {
    let (mut words, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.extend(chars.next()),
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => (quote, in_word) = (Some(c), true),
            (None, '\\') => (in_word, _) = (true, word.extend(chars.next())),
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => (in_word, _) = (true, word.push(c)),
        }
    }
    if quote.is_some() {
        return Err(TemplateError::Quotes);
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The `%word%` spans of `text` that look like macros (a lowercase letter, then at least
/// two more lowercase letters, digits or `_`) but are none of [`NAMES`]. Percent-escapes
/// never look like macros: `%20`, `%2F` start with a digit, and `%ab%2F` (two escapes)
/// has only two characters between its signs.
pub fn unknown(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    each_macro(text, |name| {
        if !NAMES.contains(&name) && !found.iter().any(|f: &String| f == &format!("%{name}%")) {
            found.push(format!("%{name}%"));
        }
        None
    });
    found
}

/// `text` with every known macro replaced by `encode(value)`; others stay as typed.
fn substitute(text: &str, values: &[(&str, String)], encode: impl Fn(&str) -> String) -> String {
    each_macro(text, |name| values.iter().find(|(n, _)| *n == name).map(|(_, v)| encode(v)))
}

/// Walks `text`, replacing each `%name%` for which `f` answers; returns the result.
fn each_macro(text: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let len = after
            .char_indices()
            .take_while(|&(i, c)| c.is_ascii_lowercase() || (i > 0 && (c.is_ascii_digit() || c == '_')))
            .count();
        if len >= 3 && after[len..].starts_with('%') {
            let name = &after[..len];
            match f(name) {
                Some(value) => out.push_str(&value),
                None => out.push_str(&rest[start..start + len + 2]),
            }
            rest = &after[len + 1..];
        } else {
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a value is safe
/// in a path segment and in a query alike (`&`, `=`, `#`, `+`, spaces, UTF-8).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The URL with the call's values, encoded.
pub fn url(template: &str, values: &[(&str, String)]) -> String {
    substitute(template, values, encode)
}

/// The program and its arguments with the call's values. A program given without
/// arguments gets every macro as `name=value`, in the manual's order, so a script can
/// read what it needs without the user spelling each one out.
pub fn program(words: &[String], values: &[(&str, String)]) -> Vec<String> {
    let Some((path, args)) = words.split_first() else { return Vec::new() };
    let path = match path.strip_prefix("~/") {
        Some(rest) => std::env::var("HOME").map(|h| format!("{h}/{rest}")).unwrap_or_else(|_| path.clone()),
        None => path.clone(),
    };
    let mut out = vec![path];
    if args.is_empty() {
        out.extend(values.iter().map(|(n, v)| format!("{n}={v}")));
    } else {
        out.extend(args.iter().map(|a| substitute(a, values, str::to_string)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> CallEvent {
        serde_json::from_value(serde_json::json!({
            "callid": "a@b", "direction": "inbound", "number": "+1 555 0100", "name": "Zoë & Co",
            "ext": "201", "ext_name": "Alice", "did": "5550100", "queue_number": "8001",
            "queue_name": "Sales & Support", "agent_number": "201", "duration": 42
        }))
        .unwrap()
    }

    #[test]
    fn every_macro_is_substituted_and_encoded_in_urls() {
        let v = values(&call());
        let all: String = NAMES.iter().map(|n| format!("{n}=%{n}%&")).collect();
        assert_eq!(
            url(&format!("https://crm/p?{all}"), &v),
            "https://crm/p?callerid=%2B1%20555%200100&callerid_name=Zo%C3%AB%20%26%20Co&ext=201&\
             ext_name=Alice&duration=42&callid=a%40b&did=5550100&direction=inbound&queue_number=8001&\
             queue_name=Sales%20%26%20Support&agent_number=201&agent_name=&"
        );
    }

    #[test]
    fn percent_escapes_and_unknown_macros_stay_as_typed() {
        let v = values(&call());
        let t = "https://crm/q?a=%20b%&x=%caller%&y=%ext%&z=100%";
        assert_eq!(url(t, &v), "https://crm/q?a=%20b%&x=%caller%&y=201&z=100%");
        assert_eq!(unknown(t), ["%caller%"]);
        assert!(unknown("https://crm/?q=%callerid%&r=%ab%2F%c3%a9").is_empty());
        assert_eq!(unknown("%foo_1% %foo_1% %bar%"), ["%foo_1%", "%bar%"]);
    }

    #[test]
    fn fields_are_urls_or_programs() {
        assert_eq!(
            parse("yourcrm.com/calls?id=%callerid%"),
            Ok(Target::Url("https://yourcrm.com/calls?id=%callerid%".into()))
        );
        assert_eq!(parse(" HTTP://crm/x "), Ok(Target::Url("HTTP://crm/x".into())));
        assert_eq!(parse("ftp://crm/x"), Err(TemplateError::Scheme("ftp".into())));
        assert_eq!(parse("javascript://x"), Err(TemplateError::Scheme("javascript".into())));
        assert_eq!(
            parse(r#"/usr/bin/pop "%callerid_name%" --num=%callerid% 'a b' c\ d"#),
            Ok(Target::Program(vec![
                "/usr/bin/pop".into(),
                "%callerid_name%".into(),
                "--num=%callerid%".into(),
                "a b".into(),
                "c d".into()
            ]))
        );
        assert_eq!(parse("/usr/bin/pop 'oops"), Err(TemplateError::Quotes));
        assert_eq!(parse("notepad %callerid%"), Err(TemplateError::RelativeProgram("notepad".into())));
    }

    #[test]
    fn programs_get_each_value_as_one_argument() {
        let v = values(&call());
        let words = vec!["/bin/pop".to_string(), "%callerid_name%".into(), "n=%callerid%;rm -rf".into()];
        assert_eq!(program(&words, &v), ["/bin/pop", "Zoë & Co", "n=+1 555 0100;rm -rf"]);
        let bare = program(&["/bin/pop".to_string()], &v);
        assert_eq!(bare.len(), 13);
        assert_eq!(bare[1], "callerid=+1 555 0100");
        assert_eq!(bare[12], "agent_name=");
    }
}
