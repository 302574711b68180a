//! The single producer of a plugin's views. Views are drawn from two things: the
//! engine's snapshot `S` (replaced by the engine after each change it makes) and the
//! plugin thread's UI state `F` (what is typed, what is open). Either side changes its
//! part through [`Panels`], which redraws every panel and publishes the ones that
//! differ from what was last published: on change, never by clock, and always after
//! the state they reflect was stored.

use crate::{Context, Error};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use ucdesk_plugin_api::view::View;

type Render<S, F> = Box<dyn Fn(&S, &F) -> View + Send + Sync>;
type Prepare<S, F> = Box<dyn Fn(&Context, &S, &mut F) + Send + Sync>;

struct State<S, F> {
    snapshot: S,
    form: F,
    published: HashMap<&'static str, View>,
}

struct Inner<S, F> {
    ctx: Context,
    panels: Vec<(&'static str, Render<S, F>)>,
    prepare: Option<Prepare<S, F>>,
    // One lock for state and publishing, so the engine thread and the plugin thread
    // never publish two versions of a panel out of order.
    state: Mutex<State<S, F>>,
}

/// A plugin's panels; cheap to clone (the engine keeps one, the plugin another).
pub struct Panels<S, F> {
    inner: Arc<Inner<S, F>>,
}

impl<S, F> Clone for Panels<S, F> {
    fn clone(&self) -> Self {
        Panels { inner: self.inner.clone() }
    }
}

/// Builds [`Panels`]: one `panel` per manifest panel with the function that draws it.
pub struct PanelsBuilder<S, F> {
    ctx: Context,
    snapshot: S,
    form: F,
    panels: Vec<(&'static str, Render<S, F>)>,
    prepare: Option<Prepare<S, F>>,
}

impl<S: Send + 'static, F: Send + 'static> PanelsBuilder<S, F> {
    pub fn panel(
        mut self,
        id: &'static str,
        render: impl Fn(&S, &F) -> View + Send + Sync + 'static,
    ) -> Self {
        self.panels.push((id, Box::new(render)));
        self
    }

    /// Runs before each redraw with the UI state writable (hand the shell images the
    /// views are about to name, with [`Context::publish_image`]).
    pub fn prepare(mut self, f: impl Fn(&Context, &S, &mut F) + Send + Sync + 'static) -> Self {
        self.prepare = Some(Box::new(f));
        self
    }

    pub fn finish(self) -> Panels<S, F> {
        let state = State { snapshot: self.snapshot, form: self.form, published: HashMap::new() };
        Panels {
            inner: Arc::new(Inner {
                ctx: self.ctx,
                panels: self.panels,
                prepare: self.prepare,
                state: Mutex::new(state),
            }),
        }
    }
}

impl<S: Send + 'static, F: Send + 'static> Panels<S, F> {
    pub fn build(ctx: &Context, snapshot: S, form: F) -> PanelsBuilder<S, F> {
        PanelsBuilder { ctx: ctx.clone(), snapshot, form, panels: Vec::new(), prepare: None }
    }

    fn lock(&self) -> MutexGuard<'_, State<S, F>> {
        // A panic while drawing leaves the state as it was: keep serving it.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The engine's side: store the new snapshot, then publish what changed.
    pub fn set_snapshot(&self, snapshot: S) {
        let mut state = self.lock();
        state.snapshot = snapshot;
        self.publish(&mut state);
    }

    /// The plugin's side: change the UI state, then publish what changed.
    pub fn form<R>(&self, f: impl FnOnce(&mut F) -> R) -> R {
        let mut state = self.lock();
        let r = f(&mut state.form);
        self.publish(&mut state);
        r
    }

    /// The plugin's side, when the change depends on the snapshot too.
    pub fn form_with<R>(&self, f: impl FnOnce(&S, &mut F) -> R) -> R {
        let mut state = self.lock();
        let State { snapshot, form, .. } = &mut *state;
        let r = f(snapshot, form);
        self.publish(&mut state);
        r
    }

    /// Reads both without publishing.
    pub fn read<R>(&self, f: impl FnOnce(&S, &F) -> R) -> R {
        let state = self.lock();
        f(&state.snapshot, &state.form)
    }

    /// The current view of `panel` (the kernel asks when a panel opens).
    pub fn view(&self, panel: &str) -> Result<View, Error> {
        let mut state = self.lock();
        if let Some(prepare) = &self.inner.prepare {
            let State { snapshot, form, .. } = &mut *state;
            prepare(&self.inner.ctx, snapshot, form);
        }
        let (id, render) = self
            .inner
            .panels
            .iter()
            .find(|(id, _)| *id == panel)
            .ok_or_else(|| Error::not_found(format!("no panel {panel}")))?;
        let view = render(&state.snapshot, &state.form);
        state.published.insert(id, view.clone());
        Ok(view)
    }

    fn publish(&self, state: &mut State<S, F>) {
        if let Some(prepare) = &self.inner.prepare {
            let State { snapshot, form, .. } = &mut *state;
            prepare(&self.inner.ctx, snapshot, form);
        }
        for (id, render) in &self.inner.panels {
            let view = render(&state.snapshot, &state.form);
            if state.published.get(id) != Some(&view) {
                self.inner.ctx.publish_view(id, &view);
                state.published.insert(id, view);
            }
        }
    }
}

impl<S: Clone + Send + 'static, F: Send + 'static> Panels<S, F> {
    /// A copy of the engine's snapshot.
    pub fn snapshot(&self) -> S {
        self.lock().snapshot.clone()
    }
}
