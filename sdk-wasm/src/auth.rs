//! The auth provider: asked before every connection attempt; its answer (a value or a promise)
//! becomes the Socket.IO handshake's `auth`.

use std::cell::RefCell;
use std::rc::Weak;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::convert::{field, from_js, message};
use crate::driver::{Inner, open};

#[wasm_bindgen]
extern "C" {
    /// A promise, for a `then` that takes any function (js-sys's takes a `Closure`).
    type Settling;

    /// `promise.then(callback)` for a callback made by `Closure::once_into_js`.
    #[wasm_bindgen(method)]
    fn then(this: &Settling, callback: &JsValue);
}

/// Asks `provider` (if any), then opens transport `id` to `url` with its answer, always from a
/// later microtask, never inside the pump that asked. A provider that throws or rejects fails
/// the attempt with its message; one that never answers is cut by the core's connect timeout
/// (the answer, should it come later, is dropped).
pub(crate) fn ask(weak: Weak<RefCell<Inner>>, id: u64, url: String, provider: Option<Function>) {
    let asked = provider.is_some();
    let answer = match &provider {
        None => JsValue::NULL,
        Some(provider) => provider
            .call0(&JsValue::UNDEFINED)
            .unwrap_or_else(|thrown| Promise::reject(&thrown).into()),
    };
    // `allSettled` of one promise settles once, so the closure runs once and frees itself.
    let settled = Closure::once_into_js(move |results: JsValue| {
        let result = field(&results, "0");
        let auth = if field(&result, "status").as_string().as_deref() != Some("fulfilled") {
            let reason = message(&field(&result, "reason"));
            Err(format!("auth provider failed: {reason}"))
        } else if asked {
            from_js(&field(&result, "value"))
                .map(Some)
                .map_err(|e| format!("auth provider failed: {}", message(&e)))
        } else {
            Ok(None)
        };
        open(&weak, id, &url, auth);
    });
    let settling = Promise::all_settled(&Array::of1(&answer));
    settling.unchecked_ref::<Settling>().then(&settled);
}
