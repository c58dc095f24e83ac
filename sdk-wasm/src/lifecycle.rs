//! The page's lifecycle, in a browser window: on `pagehide` the client leaves its rooms and
//! closes, so others see it go at once; when the page is visible again, its deadlines are
//! checked at once, since a background tab's timers may have been throttled.
//! Elsewhere (Node, Deno, Bun, workers), nothing.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Event, EventTarget};

use crate::driver::{Shared, act_weak};

/// One event listener: where, for which event, and the handler.
type Listener = (EventTarget, &'static str, Closure<dyn FnMut(Event)>);

/// The page listeners of one client; removed when dropped.
pub(crate) struct Lifecycle {
    listeners: Vec<Listener>,
}

impl Lifecycle {
    /// Watches the page for the client (`None` outside a window).
    pub(crate) fn attach(shared: &Shared) -> Option<Self> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let weak = Rc::downgrade(shared);
        let hide = Closure::<dyn FnMut(Event)>::new(move |_| {
            act_weak(&weak, |core, now| core.disconnect(now));
        });
        let weak = Rc::downgrade(shared);
        let check = move |_| {
            let visible = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| !d.hidden());
            if visible {
                act_weak(&weak, |core, now| core.handle_timeout(now));
            }
        };
        let check = Closure::<dyn FnMut(Event)>::new(check);
        let window: EventTarget = window.into();
        let listeners = vec![
            (window.clone(), "pagehide", hide),
            (document.into(), "visibilitychange", check),
        ];
        for (target, name, listener) in &listeners {
            let _ =
                target.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
        Some(Self { listeners })
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        for (target, name, listener) in &self.listeners {
            let _ =
                target.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
    }
}
