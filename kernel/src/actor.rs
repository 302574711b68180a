//! One thread and one mailbox per plugin: the only place plugin code is called.
//!
//! The thread instantiates the plugin, starts it, renders its first views, and then
//! serves two queues: the control mailbox (service calls, UI events, kernel notices,
//! stop; served first) and its bus queue. A panic reported by the sdk glue ends the
//! loop: the mailbox is dropped at once (queued callers learn it immediately), the
//! instance is leaked rather than dropped (its state may be broken), the kernel marks
//! the plugin failed, the caller whose request panicked gets its answer, and then the
//! plugin's dependents are stopped.

use crate::{
    bus::{BusEvent, Queue},
    host::PluginHost,
    kernel::Inner,
};
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, RResult},
};
use crossbeam_channel::{Receiver, Sender, bounded, select_biased};
use std::{
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};
use ucdesk_plugin_api::{
    Fault, Host_TO, Manifest, PluginBox, PluginModRef,
    contract::{Contract, kernel as notices},
};

/// Length of a plugin's control mailbox; a full one answers callers "busy".
pub const MAILBOX: usize = 256;

/// What the kernel asks of a plugin's thread.
pub(crate) enum Msg {
    Call {
        service: String,
        request: Vec<u8>,
        reply: Sender<Result<Vec<u8>, Fault>>,
    },
    /// Render a panel and cache it.
    View {
        panel: String,
    },
    Ui {
        panel: String,
        event: Vec<u8>,
    },
    /// An event addressed to this plugin alone (e.g. its setting changed).
    Notice(Arc<BusEvent>),
    Stop {
        reply: Sender<Result<(), Fault>>,
    },
}

/// The kernel's handle on a running plugin thread.
pub(crate) struct ActorHandle {
    pub control: Sender<Msg>,
    pub queue: Arc<Queue>,
    /// Cleared when the plugin leaves routing; its host handle then goes quiet.
    pub alive: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ActorHandle {
    /// Asks the plugin to stop and waits until `timeout` has passed in all (queueing the
    /// request, the plugin's `stop`, its thread ending). A plugin that does not make it
    /// is left behind on its thread rather than holding up the caller.
    pub fn stop(mut self, timeout: Duration) -> Result<(), String> {
        self.alive.store(false, Ordering::Release);
        let deadline = Instant::now() + timeout;
        let (tx, rx) = bounded(1);
        match self.control.send_deadline(Msg::Stop { reply: tx }, deadline) {
            Ok(()) => {}
            // Its thread has ended already (it failed, or stopped itself).
            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return Ok(()),
            Err(crossbeam_channel::SendTimeoutError::Timeout(_)) => {
                return Err(format!("mailbox still full after {} ms; not stopped", timeout.as_millis()));
            }
        }
        let result = match rx.recv_deadline(deadline) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(fault)) => Err(format!("stop: {fault}")),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(()),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                return Err(format!("did not stop within {} ms", timeout.as_millis()));
            }
        };
        // The thread ends right after answering; wait for it only until the deadline.
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        result
    }
}

/// Spawns the plugin's thread and waits (up to `start_timeout`) until it has been
/// instantiated, started and has rendered its panels. `Err` carries the reason.
pub(crate) fn spawn(
    inner: Weak<Inner>,
    module: PluginModRef,
    manifest: Arc<Manifest>,
    queue: Arc<Queue>,
    start_timeout: Duration,
) -> Result<ActorHandle, String> {
    let id = manifest.id.clone();
    let (control, mailbox) = bounded(MAILBOX);
    let (ready_tx, ready_rx) = bounded::<Result<(), String>>(1);
    let alive = Arc::new(AtomicBool::new(true));
    let host = PluginHost::new(inner.clone(), manifest.clone(), queue.clone(), alive.clone());
    let actor = Actor { id: id.clone(), inner, manifest, queue: queue.clone() };
    let thread = std::thread::Builder::new()
        .name(format!("plugin:{id}"))
        .spawn(move || actor.run(module, host, mailbox, ready_tx))
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    match ready_rx.recv_timeout(start_timeout) {
        Ok(Ok(())) => Ok(ActorHandle { control, queue, alive, thread: Some(thread) }),
        Ok(Err(reason)) => {
            let _ = thread.join();
            Err(reason)
        }
        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
            alive.store(false, Ordering::Release);
            Err(format!("did not start within {} ms", start_timeout.as_millis()))
        }
        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
            Err("its thread ended while starting".into())
        }
    }
}

struct Actor {
    id: String,
    inner: Weak<Inner>,
    manifest: Arc<Manifest>,
    queue: Arc<Queue>,
}

/// How the loop ended.
enum Exit {
    /// Asked to stop (or the kernel is gone). `poisoned`: `stop` itself panicked, so
    /// the instance must not be dropped.
    Stopped { poisoned: bool },
    /// Panicked: the reason, and the caller to tell once the kernel knows.
    Panicked { reason: String, reply: Option<Sender<Result<Vec<u8>, Fault>>>, fault: Fault },
}

impl Actor {
    fn run(
        self,
        module: PluginModRef,
        host: PluginHost,
        mailbox: Receiver<Msg>,
        ready: Sender<Result<(), String>>,
    ) {
        let handle = Host_TO::from_ptr(RArc::new(host), TD_Opaque);
        let mut plugin = match (module.instantiate())(handle).into_result() {
            Ok(p) => p,
            Err(fault) => {
                let _ = ready.send(Err(fault.to_string()));
                return;
            }
        };
        if let Err(fault) = plugin.start().into_result() {
            let _ = ready.send(Err(fault.to_string()));
            if fault.is_panic() {
                std::mem::forget(plugin);
            }
            return;
        }
        for panel in &self.manifest.panels {
            match plugin.view(panel.id.as_str().into()).into_result() {
                Ok(bytes) => self.with_inner(|k| k.store_view(&self.id, &panel.id, bytes.into_vec())),
                Err(fault) if fault.is_panic() => {
                    let _ = ready.send(Err(fault.to_string()));
                    std::mem::forget(plugin);
                    return;
                }
                Err(fault) => tracing::warn!(plugin = self.id, "panel {}: {fault}", panel.id),
            }
        }
        if ready.send(Ok(())).is_err() {
            // The kernel gave up waiting (start timeout): it already marked us failed.
            if plugin.stop().into_result().is_err_and(|f| f.is_panic()) {
                std::mem::forget(plugin);
            }
            return;
        }
        match self.serve(&mut plugin, &mailbox) {
            Exit::Stopped { poisoned: false } => {}
            Exit::Stopped { poisoned: true } => std::mem::forget(plugin),
            Exit::Panicked { reason, reply, fault } => {
                // Queued callers get "unavailable" now, not after their timeout.
                drop(mailbox);
                std::mem::forget(plugin);
                // Out of routing first, then answer the caller, and only then stop the
                // dependents: one of them may be that caller, waiting for this answer.
                self.with_inner(|k| k.mark_failed(&self.id, reason));
                if let Some(reply) = reply {
                    let _ = reply.send(Err(fault));
                }
                self.with_inner(|k| k.disable_dependents(&self.id));
            }
        }
    }

    fn with_inner(&self, f: impl FnOnce(&Inner)) {
        if let Some(inner) = self.inner.upgrade() {
            f(&inner);
        }
    }

    fn serve(&self, plugin: &mut PluginBox, mailbox: &Receiver<Msg>) -> Exit {
        loop {
            select_biased! {
                recv(mailbox) -> msg => {
                    let Ok(msg) = msg else { return Exit::Stopped { poisoned: false } };
                    if let Some(exit) = self.handle(plugin, msg) {
                        return exit;
                    }
                }
                recv(self.queue.receiver()) -> event => {
                    let Ok(event) = event else { continue };
                    let dropped = self.queue.take_dropped();
                    if dropped > 0 {
                        let notice = BusEvent {
                            topic: notices::TOPIC_DROPPED.into(),
                            source: "kernel".into(),
                            schema: notices::Dropped::SCHEMA.into(),
                            payload: notices::Dropped { count: dropped }.to_bytes(),
                        };
                        if let Some(exit) = self.deliver(plugin, &notice) {
                            return exit;
                        }
                    }
                    if let Some(exit) = self.deliver(plugin, &event) {
                        return exit;
                    }
                }
            }
        }
    }

    fn handle(&self, plugin: &mut PluginBox, msg: Msg) -> Option<Exit> {
        match msg {
            Msg::Call { service, request, reply } => {
                let result = plugin.on_call(service.as_str().into(), request.as_slice().into()).into_result();
                match result {
                    Err(fault) if fault.is_panic() => {
                        let reason = format!("{fault} (handling service {service})");
                        return Some(Exit::Panicked { reason, reply: Some(reply), fault });
                    }
                    other => {
                        let _ = reply.send(other.map(|v| v.into_vec()));
                    }
                }
            }
            Msg::View { panel } => match plugin.view(panel.as_str().into()).into_result() {
                Ok(bytes) => self.with_inner(|k| k.store_view(&self.id, &panel, bytes.into_vec())),
                Err(fault) => return self.fault(fault, &format!("rendering panel {panel}")),
            },
            Msg::Ui { panel, event } => {
                if let Err(fault) = plugin.on_ui(panel.as_str().into(), event.as_slice().into()).into_result()
                {
                    return self.fault(fault, &format!("handling a UI event on {panel}"));
                }
            }
            Msg::Notice(event) => return self.deliver(plugin, &event),
            Msg::Stop { reply } => {
                let result = plugin.stop().into_result();
                let poisoned = result.as_ref().is_err_and(Fault::is_panic);
                let _ = reply.send(result);
                return Some(Exit::Stopped { poisoned });
            }
        }
        None
    }

    fn deliver(&self, plugin: &mut PluginBox, e: &BusEvent) -> Option<Exit> {
        let result = plugin.on_event(
            e.topic.as_str().into(),
            e.source.as_str().into(),
            e.schema.as_str().into(),
            e.payload.as_slice().into(),
        );
        match result {
            RResult::ROk(()) => None,
            RResult::RErr(fault) => self.fault(fault, &format!("handling event {}", e.topic)),
        }
    }

    /// An error is logged; a panic ends the loop.
    fn fault(&self, fault: Fault, doing: &str) -> Option<Exit> {
        if fault.is_panic() {
            let reason = format!("{fault} ({doing})");
            return Some(Exit::Panicked { reason, reply: None, fault });
        }
        tracing::warn!(plugin = self.id, "{doing}: {fault}");
        None
    }
}
