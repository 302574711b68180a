//! The loop an XMPP plugin's engine core runs: the plugin's messages (its sdk
//! mailbox), the session's stanzas, and the views drawn again at most every `every`
//! while either keeps coming: a history page is hundreds of stanzas, and redrawing the
//! panels for each one was most of a sync's cost. Chat and SMS each implement [`Handler`] for their core.

use futures::StreamExt;
use std::future::Future;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};
use tokio_xmpp::stanzastream::{Event as StreamEvent, StanzaStream};
use ucdesk_sdk::engine::{Mailbox, Reply};

/// What a plugin's engine core does with each thing the loop hands it.
pub trait Handler: Send {
    type Msg: Send + 'static;

    /// The session's stream, while there is one.
    fn stream(&mut self) -> Option<&mut StanzaStream>;

    /// The plugin's stop message, taken apart: its reply, or the message back when it
    /// is another one. On a stop the loop disconnects, replies and ends.
    fn stop_reply(msg: Self::Msg) -> Result<Reply<()>, Self::Msg>;

    /// Leaves the session (before the stop is answered).
    fn disconnect(&mut self) -> impl Future<Output = ()> + Send;

    /// A message from the plugin (a request, a setting, a timer).
    fn on_msg(&mut self, msg: Self::Msg) -> impl Future<Output = ()> + Send;

    /// Something the session's stream reports: a stanza, the link's state.
    fn on_stream(&mut self, event: StreamEvent) -> impl Future<Output = ()> + Send;

    /// The stream gave up for good (it never does for network trouble: it reconnects).
    fn on_stream_end(&mut self);

    /// Draws the panels from the current state.
    fn refresh(&mut self);
}

// One loop turn's value on the stack: boxing every stanza would cost more than it saves.
#[allow(clippy::large_enum_variant)]
enum Next<M> {
    Msg(Option<M>),
    Stream(Option<StreamEvent>),
    Refresh,
}

/// Runs `core` until its mailbox closes or the plugin stops it.
pub async fn run<C: Handler>(mut core: C, mut rx: Mailbox<C::Msg>, every: Duration) {
    core.refresh();
    // When the views are next drawn, once something changed.
    let mut due: Option<Instant> = None;
    loop {
        let at = due.unwrap_or_else(Instant::now);
        let next = match core.stream() {
            Some(stream) => tokio::select! {
                m = rx.recv() => Next::Msg(m),
                e = stream.next() => Next::Stream(e),
                _ = sleep_until(at), if due.is_some() => Next::Refresh,
            },
            None => tokio::select! {
                m = rx.recv() => Next::Msg(m),
                _ = sleep_until(at), if due.is_some() => Next::Refresh,
            },
        };
        match next {
            Next::Refresh => {
                due = None;
                core.refresh();
                continue;
            }
            Next::Msg(None) => return,
            Next::Msg(Some(msg)) => match C::stop_reply(msg) {
                Ok(done) => {
                    core.disconnect().await;
                    done.ok(());
                    return;
                }
                Err(msg) => core.on_msg(msg).await,
            },
            Next::Stream(Some(e)) => core.on_stream(e).await,
            Next::Stream(None) => core.on_stream_end(),
        }
        due.get_or_insert_with(|| Instant::now() + every);
    }
}
