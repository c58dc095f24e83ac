//! Page lifecycle: on `pagehide` the client leaves its rooms and closes, so others see it go at
//! once; when the page becomes visible again it checks its deadlines at once, since a background
//! tab's timers may have been throttled.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::Event;

use crate::driver::{Shared, act};

/// The page listeners of one client; removed on drop.
pub(crate) struct Lifecycle {
    on_pagehide: Closure<dyn FnMut(Event)>,
    on_visibility: Closure<dyn FnMut(Event)>,
}

impl Lifecycle {
    /// Listens to the page on behalf of `shared` (nothing outside a window, e.g. in a worker).
    pub(crate) fn attach(shared: &Shared) -> Option<Self> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let weak = Rc::downgrade(shared);
        let on_pagehide = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(shared) = weak.upgrade() {
                act(&shared, |core, now| core.disconnect(now));
            }
        });
        let weak = Rc::downgrade(shared);
        let on_visibility = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let visible = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| !d.hidden());
            if let (true, Some(shared)) = (visible, weak.upgrade()) {
                act(&shared, |core, now| core.handle_timeout(now));
            }
        });
        let _ = window
            .add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref());
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            on_visibility.as_ref().unchecked_ref(),
        );
        Some(Self {
            on_pagehide,
            on_visibility,
        })
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "pagehide",
                self.on_pagehide.as_ref().unchecked_ref(),
            );
            if let Some(document) = window.document() {
                let _ = document.remove_event_listener_with_callback(
                    "visibilitychange",
                    self.on_visibility.as_ref().unchecked_ref(),
                );
            }
        }
    }
}
