//! The engine pattern: a plugin with network work runs it on an engine of its own, a
//! tokio runtime with one core task that owns the state and reads a mailbox. The
//! plugin thread talks to it with messages: [`Engine::ask`] waits for an answer (with
//! a timeout) for service calls, [`Engine::tell`] does not wait (for `on_ui`, which
//! must never block the plugin thread), and stopping or dropping the handle shuts the
//! core down in order (bounded waits) before the runtime goes.
//!
//! ```no_run
//! use ucdesk_sdk::engine::{Engine, EngineSpec, Mailbox, Reply};
//! use std::time::Duration;
//!
//! enum Msg { Ping(Reply<u32>), Tick, Stop(Reply<()>) }
//!
//! async fn core(mut mailbox: Mailbox<Msg>) {
//!     let mut ticks = 0;
//!     while let Some(msg) = mailbox.recv().await {
//!         match msg {
//!             Msg::Ping(reply) => reply.ok(ticks),
//!             Msg::Tick => ticks += 1,
//!             Msg::Stop(done) => return done.ok(()),
//!         }
//!     }
//! }
//!
//! # fn start(ctx: &ucdesk_sdk::Context) -> std::io::Result<()> {
//! let spec = EngineSpec::new("example").tick(Duration::from_secs(1), || Msg::Tick).stop(Msg::Stop);
//! let engine = Engine::start(ctx, spec, core)?;
//! let ticks = engine.ask(Msg::Ping);
//! # Ok(()) }
//! ```

use crate::{Context, Error};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long [`Engine::ask`] waits for the core's answer by default.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutting down waits for the core to finish its stop message.
const STOP_TIMEOUT: Duration = Duration::from_secs(4);

/// How to start an engine: its name (threads and messages), worker threads, an
/// optional ticker, and the message that stops the core.
pub struct EngineSpec<M> {
    name: String,
    workers: usize,
    tick: Option<(Duration, fn() -> M)>,
    stop: Option<fn(Reply<()>) -> M>,
    ask_timeout: Duration,
}

impl<M: Send + 'static> EngineSpec<M> {
    /// `name` names the runtime's threads (`<name>-engine`) and the engine in errors.
    pub fn new(name: &str) -> Self {
        EngineSpec { name: name.to_string(), workers: 2, tick: None, stop: None, ask_timeout: ASK_TIMEOUT }
    }

    /// Worker threads of the runtime (default 2).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Sends `make()` to the core every `every` (timers: auto answer countdowns,
    /// expiries, reconnect backoff), until the core's mailbox closes.
    pub fn tick(mut self, every: Duration, make: fn() -> M) -> Self {
        self.tick = Some((every, make));
        self
    }

    /// The message that asks the core to wind down (unregister, hang up, flush) and
    /// reply when done; sent by [`Engine::shutdown`] and on drop.
    pub fn stop(mut self, make: fn(Reply<()>) -> M) -> Self {
        self.stop = Some(make);
        self
    }

    /// How long [`Engine::ask`] waits (default [`ASK_TIMEOUT`]).
    pub fn ask_timeout(mut self, timeout: Duration) -> Self {
        self.ask_timeout = timeout;
        self
    }
}

/// The core's side: its messages, and a sender for the tasks it spawns to report back.
pub struct Mailbox<M> {
    rx: mpsc::UnboundedReceiver<M>,
    tx: mpsc::UnboundedSender<M>,
}

impl<M> Mailbox<M> {
    /// The next message. The mailbox holds a sender of its own (for [`Mailbox::sender`]),
    /// so this does not end by itself: the core returns on its stop message, or ends
    /// with the runtime.
    pub async fn recv(&mut self) -> Option<M> {
        self.rx.recv().await
    }

    /// A sender into this mailbox, for tasks and callbacks of the core.
    pub fn sender(&self) -> mpsc::UnboundedSender<M> {
        self.tx.clone()
    }
}

/// Where the core sends one answer: back to a waiting [`Engine::ask`], or, for
/// [`Engine::tell`], into the plugin's log when it is an error.
pub struct Reply<T>(To<T>);

enum To<T> {
    Waiting(std::sync::mpsc::SyncSender<Result<T, Error>>),
    Log {
        ctx: Context,
        what: String,
    },
    /// Runs on the engine's thread with the answer (see [`Engine::tell_then`]).
    Then(Box<dyn FnOnce(Result<T, Error>) + Send>),
}

impl<T> Reply<T> {
    pub fn send(self, answer: Result<T, Error>) {
        match self.0 {
            // The asker may have timed out and gone: nothing to tell it then.
            To::Waiting(tx) => drop(tx.try_send(answer)),
            To::Log { ctx, what } => {
                if let Err(e) = answer {
                    ctx.warn(format!("{what}: {e}"));
                }
            }
            To::Then(f) => f(answer),
        }
    }

    pub fn ok(self, value: T) {
        self.send(Ok(value));
    }

    /// A reply that nobody waits for and that logs an error (for the tests of cores
    /// and for work the core starts itself).
    pub fn log(ctx: &Context, what: impl Into<String>) -> Self {
        Reply(To::Log { ctx: ctx.clone(), what: what.into() })
    }
}

/// The plugin's handle to a running engine. Dropping it shuts the engine down.
pub struct Engine<M: Send + 'static> {
    name: String,
    ctx: Context,
    runtime: Option<tokio::runtime::Runtime>,
    tx: mpsc::UnboundedSender<M>,
    stop: Option<fn(Reply<()>) -> M>,
    ask_timeout: Duration,
}

impl<M: Send + 'static> Engine<M> {
    /// Builds the runtime and spawns `core` with its mailbox (and the ticker).
    pub fn start<F, Fut>(ctx: &Context, spec: EngineSpec<M>, core: F) -> std::io::Result<Self>
    where
        F: FnOnce(Mailbox<M>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(spec.workers)
            .thread_name(format!("{}-engine", spec.name))
            .enable_all()
            .build()?;
        let (tx, rx) = mpsc::unbounded_channel();
        if let Some((every, make)) = spec.tick {
            let ticker = tx.clone();
            runtime.spawn(async move {
                let mut interval = tokio::time::interval(every);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    interval.tick().await;
                    if ticker.send(make()).is_err() {
                        return;
                    }
                }
            });
        }
        runtime.spawn(core(Mailbox { rx, tx: tx.clone() }));
        Ok(Engine {
            name: spec.name,
            ctx: ctx.clone(),
            runtime: Some(runtime),
            tx,
            stop: spec.stop,
            ask_timeout: spec.ask_timeout,
        })
    }

    /// Sends a message that needs no answer (configuration, a notice).
    pub fn send(&self, msg: M) -> Result<(), Error> {
        self.tx.send(msg).map_err(|_| Error::not_ready(format!("the {} engine has stopped", self.name)))
    }

    /// Sends the message `make` builds around a reply and waits for the answer.
    pub fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> M) -> Result<T, Error> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.send(make(Reply(To::Waiting(reply))))?;
        answer
            .recv_timeout(self.ask_timeout)
            .map_err(|_| Error::failed(format!("the {} engine did not answer in time", self.name)))?
    }

    /// Sends the message and returns at once; an error answer is logged as `what`.
    /// For `on_ui`: the view shows the outcome when the core's state changes.
    pub fn tell<T>(&self, what: impl Into<String>, make: impl FnOnce(Reply<T>) -> M) {
        let what = what.into();
        if let Err(e) = self.send(make(Reply::log(&self.ctx, what.clone()))) {
            self.ctx.warn(format!("{what}: {e}"));
        }
    }

    /// Sends the message and returns at once; `then` gets the answer on the engine's
    /// thread (keep it short: store it in the UI state through [`crate::Panels::form`]).
    pub fn tell_then<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> M,
        then: impl FnOnce(Result<T, Error>) + Send + 'static,
    ) {
        if let Err(e) = self.send(make(Reply(To::Then(Box::new(then))))) {
            self.ctx.warn(e.to_string());
        }
    }

    /// Asks the core to stop (bounded wait), then stops the runtime. Idempotent.
    pub fn shutdown(&mut self) {
        let Some(runtime) = self.runtime.take() else { return };
        if let Some(stop) = self.stop {
            let (done, wait) = std::sync::mpsc::sync_channel(1);
            if self.tx.send(stop(Reply(To::Waiting(done)))).is_ok()
                && wait.recv_timeout(STOP_TIMEOUT).is_err()
            {
                self.ctx.warn(format!("the {} engine did not stop in time", self.name));
            }
        }
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

impl<M: Send + 'static> Drop for Engine<M> {
    fn drop(&mut self) {
        self.shutdown();
    }
}
