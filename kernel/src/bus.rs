//! The bus: topics, subscriptions, and one bounded queue per subscriber.
//!
//! # Overflow policy
//!
//! Every subscriber (a plugin, or a `ucdesk events` client) has its own queue of
//! [`Bus::capacity`] events (default [`DEFAULT_QUEUE`]). Publishing never blocks: when a
//! subscriber's queue is full, its *oldest* queued event is discarded to make room,
//! because in a UC client a newer state (presence, registration, call quality)
//! supersedes an older one. The subscriber learns how many it lost: before its next
//! delivery it receives a `kernel.dropped` notice with the count. Other subscribers are
//! not affected by a slow one.
//!
//! # Ordering
//!
//! Each queue is FIFO, so events of one publisher reach every subscriber in the order
//! they were published (with gaps only where the overflow policy dropped some). Events
//! of different publishers interleave in no promised order.
//!
//! A topic matches a subscription when it starts with the subscription's prefix; a
//! subscriber with several matching prefixes still gets each event once.

use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::{
    Arc, RwLock,
    atomic::{AtomicU64, Ordering},
};

/// Default length of each subscriber's queue.
pub const DEFAULT_QUEUE: usize = 1024;

/// One published event, shared by all the queues it lands in.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEvent {
    pub topic: String,
    /// Id of the publishing plugin, or `kernel`.
    pub source: String,
    pub schema: String,
    pub payload: Vec<u8>,
}

/// A subscriber's queue: the receiving end is read by the subscriber, the sending end
/// and a second receiver (to discard the oldest) are held by the bus.
pub struct Queue {
    /// Who owns the queue, for logs (`plugin:<id>` or `client:<n>`).
    pub owner: String,
    tx: Sender<Arc<BusEvent>>,
    rx: Receiver<Arc<BusEvent>>,
    dropped: AtomicU64,
}

impl Queue {
    pub fn new(owner: impl Into<String>, capacity: usize) -> Arc<Queue> {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        Arc::new(Queue { owner: owner.into(), tx, rx, dropped: AtomicU64::new(0) })
    }

    /// The receiving end, for the subscriber's thread.
    pub fn receiver(&self) -> &Receiver<Arc<BusEvent>> {
        &self.rx
    }

    /// Events discarded since the last call (resets the count).
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::AcqRel)
    }

    /// Enqueues, discarding the oldest events while full. Never blocks.
    pub fn push(&self, event: Arc<BusEvent>) {
        let mut event = event;
        loop {
            match self.tx.try_send(event) {
                Ok(()) => return,
                Err(TrySendError::Full(back)) => {
                    event = back;
                    if self.rx.try_recv().is_ok() {
                        self.dropped.fetch_add(1, Ordering::AcqRel);
                    }
                }
                // Our own `rx` keeps the channel open, so this cannot happen.
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    }
}

struct Subscription {
    prefix: String,
    queue: Arc<Queue>,
}

/// Topic routing. Cheap to share; publishing takes a read lock only.
pub struct Bus {
    subs: RwLock<Vec<Subscription>>,
    capacity: usize,
    published: AtomicU64,
}

impl Bus {
    pub fn new(capacity: usize) -> Bus {
        Bus { subs: RwLock::new(Vec::new()), capacity, published: AtomicU64::new(0) }
    }

    /// The length of each subscriber's queue.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A fresh queue of this bus's capacity.
    pub fn queue(&self, owner: impl Into<String>) -> Arc<Queue> {
        Queue::new(owner, self.capacity)
    }

    pub fn subscribe(&self, prefix: &str, queue: &Arc<Queue>) {
        let mut subs = self.subs.write().unwrap_or_else(|p| p.into_inner());
        if !subs.iter().any(|s| s.prefix == prefix && Arc::ptr_eq(&s.queue, queue)) {
            subs.push(Subscription { prefix: prefix.to_string(), queue: queue.clone() });
        }
    }

    pub fn unsubscribe(&self, prefix: &str, queue: &Arc<Queue>) {
        let mut subs = self.subs.write().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| !(s.prefix == prefix && Arc::ptr_eq(&s.queue, queue)));
    }

    /// Removes every subscription of `queue` (its owner failed, stopped or left).
    pub fn remove(&self, queue: &Arc<Queue>) {
        let mut subs = self.subs.write().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| !Arc::ptr_eq(&s.queue, queue));
    }

    /// Delivers `event` to every matching queue. Returns how many queues got it.
    pub fn publish(&self, event: BusEvent) -> usize {
        self.published.fetch_add(1, Ordering::Relaxed);
        let event = Arc::new(event);
        let subs = self.subs.read().unwrap_or_else(|p| p.into_inner());
        let mut delivered: Vec<&Arc<Queue>> = Vec::new();
        for s in subs.iter() {
            if event.topic.starts_with(s.prefix.as_str())
                && !delivered.iter().any(|q| Arc::ptr_eq(q, &s.queue))
            {
                s.queue.push(event.clone());
                delivered.push(&s.queue);
            }
        }
        delivered.len()
    }

    /// Events published since start.
    pub fn published_count(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(topic: &str, n: u32) -> BusEvent {
        BusEvent {
            topic: topic.into(),
            source: "t".into(),
            schema: "json".into(),
            payload: n.to_string().into_bytes(),
        }
    }

    #[test]
    fn full_queue_drops_oldest_and_counts() {
        let bus = Bus::new(4);
        let q = bus.queue("slow");
        bus.subscribe("a.", &q);
        for n in 0..10 {
            bus.publish(ev("a.x", n));
        }
        let got: Vec<String> =
            q.receiver().try_iter().map(|e| String::from_utf8(e.payload.clone()).unwrap()).collect();
        assert_eq!(got, ["6", "7", "8", "9"]);
        assert_eq!(q.take_dropped(), 6);
        assert_eq!(q.take_dropped(), 0);
    }

    #[test]
    fn prefixes_match_and_deliver_once() {
        let bus = Bus::new(8);
        let q = bus.queue("p");
        bus.subscribe("call.", &q);
        bus.subscribe("call.quality", &q);
        assert_eq!(bus.publish(ev("call.quality", 1)), 1);
        assert_eq!(bus.publish(ev("chat.message", 2)), 0);
        assert_eq!(q.receiver().len(), 1);
        bus.unsubscribe("call.", &q);
        bus.unsubscribe("call.quality", &q);
        assert_eq!(bus.publish(ev("call.quality", 3)), 0);
    }

    #[test]
    fn a_slow_subscriber_does_not_starve_a_fast_one() {
        let bus = Bus::new(2);
        let slow = bus.queue("slow");
        let fast = bus.queue("fast");
        bus.subscribe("", &slow);
        bus.subscribe("", &fast);
        for n in 0..5 {
            bus.publish(ev("t", n));
            let e = fast.receiver().try_recv().unwrap();
            assert_eq!(e.payload, n.to_string().into_bytes());
        }
        assert_eq!(slow.take_dropped(), 3);
    }
}
