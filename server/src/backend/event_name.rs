//! Which event names the backend API may emit: any but the server's own.

use crate::error::AckError;

/// Longest event name, in bytes.
pub const MAX_EVENT_BYTES: usize = 256;

/// Event name prefixes the server's modules use.
const RESERVED_PREFIXES: [&str; 4] = ["presence:", "chat:", "storage:", "rtm:"];

/// Names Socket.IO clients give a meaning of their own.
const SOCKET_IO_RESERVED: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// `Ok` when the backend may emit `event`; `invalid_payload` naming the reason otherwise.
pub fn check(event: &str) -> Result<(), AckError> {
    if event.is_empty() {
        return Err(AckError::invalid("event must not be empty"));
    }
    if event.len() > MAX_EVENT_BYTES {
        return Err(AckError::invalid(format!(
            "event must be at most {MAX_EVENT_BYTES} bytes"
        )));
    }
    if RESERVED_PREFIXES.iter().any(|p| event.starts_with(p)) || SOCKET_IO_RESERVED.contains(&event)
    {
        return Err(AckError::invalid(format!(
            "event \"{event}\" is reserved by the server"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn app_events_pass() {
        assert!(check("notification").is_ok());
        assert!(check("order:shipped").is_ok());
    }

    #[test]
    fn reserved_and_malformed_names_are_refused() {
        for name in [
            "",
            "presence:event",
            "chat:message",
            "rtm:drain",
            "connect",
            "disconnect",
        ] {
            assert!(check(name).is_err(), "{name}");
        }
        assert!(check(&"x".repeat(257)).is_err());
    }
}
