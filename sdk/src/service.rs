//! Services declared once: each [`Services::service`] names a service, says what it
//! does, and gives its handler with a typed request and answer. The same list becomes
//! the manifest's service declarations and the dispatch table, so no service can be
//! declared without a handler or handled without a declaration.

use crate::{Call, Error};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use ucdesk_plugin_api::ServiceDecl;

type Handler<P> = Box<dyn Fn(&mut P, Call<'_>) -> Result<Value, Error> + Send + Sync>;

/// The services of plugin `P`, from [`crate::Plugin::services`].
///
/// ```
/// use serde::Deserialize;
/// use ucdesk_sdk::prelude::*;
///
/// #[derive(Deserialize)]
/// struct Greet { name: String }
/// struct Hello;
///
/// let services = Services::<Hello>::new()
///     .service("hello.greet", "{name} -> the greeting", |_, Greet { name }| {
///         Ok::<_, Error>(format!("Hello, {name}!"))
///     })
///     .service("hello.ping", "No request; answers true", |_, ()| Ok::<_, Error>(true));
/// assert_eq!(services.declarations().len(), 2);
/// ```
pub struct Services<P> {
    entries: Vec<(ServiceDecl, Handler<P>)>,
}

impl<P: 'static> Default for Services<P> {
    fn default() -> Self {
        Services::new()
    }
}

impl<P: 'static> Services<P> {
    pub fn new() -> Self {
        Services { entries: Vec::new() }
    }

    /// Declares `name` with its help text and handler. The request decodes into `Req`
    /// (`()` or an `Option` for services that take none; an empty request is JSON
    /// `null`); a request that does not decode is refused as
    /// [`Reason::BadRequest`](ucdesk_plugin_api::Reason) naming the field, before the
    /// handler runs. The answer is sent as JSON.
    ///
    /// Panics on a name declared twice: a manifest is code, and the glue reports the
    /// panic as a failed plugin with this message.
    pub fn service<Req, Resp, E>(
        self,
        name: impl Into<String>,
        help: impl Into<String>,
        handler: impl Fn(&mut P, Req) -> Result<Resp, E> + Send + Sync + 'static,
    ) -> Self
    where
        Req: DeserializeOwned,
        Resp: Serialize,
        E: Into<Error>,
    {
        self.raw(name, help, move |plugin, call| {
            let request = decode::<Req>(call)?;
            let answer = handler(plugin, request).map_err(Into::into)?;
            serde_json::to_value(answer)
                .map_err(|e| Error::failed(format!("{}: the answer does not serialize: {e}", call.service())))
        })
    }

    /// A service whose handler reads the [`Call`] itself (a request it forwards as
    /// bytes, or a family of services sharing one handler).
    pub fn raw(
        mut self,
        name: impl Into<String>,
        help: impl Into<String>,
        handler: impl Fn(&mut P, Call<'_>) -> Result<Value, Error> + Send + Sync + 'static,
    ) -> Self {
        let name = name.into();
        if self.entries.iter().any(|(d, _)| d.name == name) {
            panic!("service {name} is declared twice");
        }
        self.entries.push((ServiceDecl { name, description: help.into() }, Box::new(handler)));
        self
    }

    /// What the manifest declares.
    pub fn declarations(&self) -> Vec<ServiceDecl> {
        self.entries.iter().map(|(d, _)| d.clone()).collect()
    }

    /// Runs the handler of `call`'s service. A service the kernel routed here but this
    /// list does not have (a manifest edited by hand) is refused by name.
    pub fn dispatch(&self, plugin: &mut P, call: Call<'_>) -> Result<Value, Error> {
        match self.entries.iter().find(|(d, _)| d.name == call.service()) {
            Some((_, handler)) => handler(plugin, call),
            None => Err(Error::not_found(format!("no service {}", call.service()))),
        }
    }
}

/// The request of `call` as `T`, with the path of the field that does not fit. No
/// request, `null` and `{}` all mean "none" to a service that takes none (`()`): the
/// CLI and scripts send `{}` by habit.
fn decode<T: DeserializeOwned>(call: Call<'_>) -> Result<T, Error> {
    let raw = call.raw();
    let result = if raw.is_empty() {
        serde_path_to_error::deserialize(Value::Null)
    } else {
        let mut de = serde_json::Deserializer::from_slice(raw);
        serde_path_to_error::deserialize(&mut de)
    };
    let result = match result {
        Err(_) if is_empty_object(raw) => serde_path_to_error::deserialize(Value::Null).or(result),
        other => other,
    };
    result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            Error::bad_request(format!("{}: invalid request: {inner}", call.service()))
        } else {
            Error::bad_request(format!("{}: field '{path}': {inner}", call.service()))
        }
    })
}

fn is_empty_object(raw: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, Value>>(raw).is_ok_and(|m| m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use ucdesk_plugin_api::Reason;

    #[derive(Deserialize)]
    struct Dial {
        #[allow(dead_code)]
        number: String,
        #[serde(default)]
        options: Options,
    }
    #[derive(Deserialize, Default)]
    struct Options {
        #[serde(default)]
        volume: u8,
    }

    struct P {
        calls: u32,
    }

    fn services() -> Services<P> {
        Services::new()
            .service("p.dial", "dial", |p: &mut P, d: Dial| {
                p.calls += 1;
                Ok::<_, Error>(d.options.volume)
            })
            .service("p.none", "nothing", |_, ()| Ok::<_, Error>(Value::Null))
            .service("p.fail", "fails", |_, ()| Err::<(), _>(Error::not_ready("not registered")))
    }

    fn call(s: &Services<P>, p: &mut P, name: &str, body: &str) -> Result<Value, Error> {
        s.dispatch(p, Call::new(name, body.as_bytes()))
    }

    #[test]
    fn dispatches_typed_requests_and_names_the_bad_field() {
        let s = services();
        let mut p = P { calls: 0 };
        assert_eq!(call(&s, &mut p, "p.dial", r#"{"number":"201","options":{"volume":3}}"#), Ok(3.into()));
        assert_eq!(p.calls, 1);
        assert_eq!(call(&s, &mut p, "p.none", ""), Ok(Value::Null));
        assert_eq!(call(&s, &mut p, "p.none", "{}"), Ok(Value::Null));
        assert!(call(&s, &mut p, "p.none", r#"{"x":1}"#).is_err());

        let e = call(&s, &mut p, "p.dial", r#"{"number":"201","options":{"volume":"loud"}}"#).unwrap_err();
        assert_eq!(e.reason(), Reason::BadRequest);
        assert!(e.message().contains("field 'options.volume'"), "{e}");
        let e = call(&s, &mut p, "p.dial", "{}").unwrap_err();
        assert!(e.message().contains("missing field `number`"), "{e}");
        assert_eq!(p.calls, 1, "a bad request never reaches the handler");

        assert_eq!(call(&s, &mut p, "p.fail", "").unwrap_err().reason(), Reason::NotReady);
        assert_eq!(call(&s, &mut p, "p.nope", "").unwrap_err().reason(), Reason::NotFound);
        assert_eq!(
            s.declarations().iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            ["p.dial", "p.none", "p.fail"]
        );
    }

    #[test]
    #[should_panic(expected = "declared twice")]
    fn a_name_is_declared_once() {
        let _ = services().service("p.none", "again", |_, ()| Ok::<_, Error>(()));
    }
}
