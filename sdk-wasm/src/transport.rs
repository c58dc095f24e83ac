//! The WebSocket of one connection attempt. It owns its handlers and unsets them when dropped, so
//! nothing of it runs or stays behind once the core is done with it.

use std::cell::RefCell;
use std::rc::Weak;

use js_sys::{Array, Function, Reflect};
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

use crate::convert::message;
use crate::driver::{Inner, act_weak};

/// `options.WebSocket`, if the app gave one; else the global `WebSocket`, looked up when a
/// connection opens. Any class with the standard WebSocket's shape works (the `ws` package).
pub(crate) type SocketClass = Option<Function>;

/// An open or opening WebSocket and its handlers.
pub(crate) struct Socket {
    /// The core's transport id.
    pub(crate) id: u64,
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Opens a WebSocket of `class` to `url` as transport `id`, reporting to the client; `auth`
    /// goes to the core once it is open.
    pub(crate) fn open(
        class: &SocketClass,
        id: u64,
        url: &str,
        auth: Option<Value>,
        client: Weak<RefCell<Inner>>,
    ) -> Result<Self, String> {
        let class = match class {
            Some(class) => class.clone(),
            None => Reflect::get(&js_sys::global(), &"WebSocket".into())
                .ok()
                .and_then(|c| c.dyn_into::<Function>().ok())
                .ok_or("no WebSocket here: pass options.WebSocket (for example the ws package)")?,
        };
        let ws: WebSocket = Reflect::construct(&class, &Array::of1(&url.into()))
            .map_err(|e| message(&e))?
            .unchecked_into();
        let _ = Reflect::set(&ws, &"binaryType".into(), &"arraybuffer".into());
        let on_open = {
            let client = client.clone();
            let mut auth = Some(auth);
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let auth = auth.take().flatten();
                act_weak(&client, |core, now| core.transport_opened(now, id, auth));
            })
        };
        let on_message = {
            let client = client.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                // Socket.IO's text frames; binary ones are not part of rtm's protocol.
                if let Some(text) = event.data().as_string() {
                    act_weak(&client, |core, now| core.transport_frame(now, id, &text));
                }
            })
        };
        // An error is always followed by a close event, which reports it.
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            let reason = format!("connection closed (code {})", event.code());
            act_weak(&client, |core, now| core.transport_closed(now, id, &reason));
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(&ignore()));
        Ok(Self {
            id,
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends a text frame. A failed send is followed by the socket's close event.
    pub(crate) fn send(&self, frame: &str) {
        let _ = self.ws.send_with_str(frame);
    }

    /// Closes as a network failure would: the close is still reported (a testing aid).
    pub(crate) fn drop_connection(&self) {
        let _ = self.ws.close();
    }
}

impl Drop for Socket {
    /// Unsets the handlers, then closes: nothing is reported any more. `onerror` keeps a no-op,
    /// since the `ws` package throws an `error` event that nobody listens to (closing while it
    /// connects makes one).
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

thread_local! {
    /// One no-op handler for every socket's `error` events (see `Socket`'s `Drop`).
    static IGNORE: Function = Closure::<dyn FnMut()>::new(|| {}).into_js_value().unchecked_into();
}

fn ignore() -> Function {
    IGNORE.with(Function::clone)
}
