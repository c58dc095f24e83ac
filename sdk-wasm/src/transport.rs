//! The WebSocket of one connection attempt. It owns its callbacks and unsets them before it
//! closes, so nothing leaks and no callback runs after it is dropped.

use std::cell::RefCell;
use std::rc::Weak;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use crate::driver::{self, Inner};
use crate::js::now_ms;

/// An open (or opening) WebSocket and its callbacks.
pub(crate) struct Socket {
    pub(crate) id: u64,
    pub(crate) ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Socket {
    /// Opens a WebSocket to `url` as transport `id`, reporting to `inner`.
    pub(crate) fn open(
        id: u64,
        url: &str,
        auth: Option<serde_json::Value>,
        inner: Weak<RefCell<Inner>>,
    ) -> Result<Self, String> {
        let ws = WebSocket::new(url).map_err(|e| driver::js_message(&e))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_open = {
            let inner = inner.clone();
            let mut auth = Some(auth);
            Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                let auth = auth.take().flatten();
                report(&inner, |core, now| core.transport_opened(now, id, auth));
            })
        };
        let on_message = {
            let inner = inner.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(text) = event.data().as_string() {
                    report(&inner, |core, now| core.transport_frame(now, id, &text));
                }
            })
        };
        let on_close = {
            let inner = inner.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                let reason = format!("connection closed (code {})", event.code());
                report(&inner, |core, now| core.transport_closed(now, id, &reason));
            })
        };
        // An error is always followed by a close event, which reports it.
        let on_error = Closure::<dyn FnMut(Event)>::new(|_: Event| {});
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            id,
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        })
    }
}

/// Hands a transport event to the core, then carries out what follows.
fn report(inner: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut rtm_sdk_core::Client, u64)) {
    if let Some(shared) = inner.upgrade() {
        f(&mut shared.borrow_mut().core, now_ms());
        driver::pump(&shared);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}
