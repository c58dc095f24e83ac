//! The server's request handlers by event name: one table for every socket, filled by the
//! modules' [`ModuleContext::handle`](super::ModuleContext::handle) at start. A handler
//! attached to each socket instead (`socket.on`) costs a boxed closure and a map entry per
//! socket: about 300 bytes each, 3 KB of every connection for rtm's ten requests.

use std::collections::HashMap;
use std::sync::RwLock;

use super::BoxError;
use super::pipeline::Handler;

/// Request handlers by event name.
#[derive(Default)]
pub(crate) struct HandlerTable(RwLock<HashMap<&'static str, Handler>>);

impl HandlerTable {
    /// Adds `event`'s handler; an event already handled is an error (two modules, or one module
    /// twice, claiming it).
    pub(crate) fn insert(&self, event: &'static str, handler: Handler) -> Result<(), BoxError> {
        let mut table = self.0.write().expect("handler table lock");
        if table.contains_key(event) {
            return Err(format!("the event {event:?} is handled twice").into());
        }
        table.insert(event, handler);
        Ok(())
    }

    /// `event`'s handler, if a module handles it.
    pub(crate) fn get(&self, event: &str) -> Option<Handler> {
        self.0
            .read()
            .expect("handler table lock")
            .get(event)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn noop() -> Handler {
        Arc::new(|_, _, _, _| Box::pin(async {}))
    }

    #[test]
    fn an_event_is_handled_once() {
        let table = HandlerTable::default();
        assert!(table.get("a:b").is_none());
        table.insert("a:b", noop()).unwrap();
        assert!(table.get("a:b").is_some());
        let twice = table.insert("a:b", noop()).unwrap_err();
        assert_eq!(twice.to_string(), r#"the event "a:b" is handled twice"#);
    }
}
