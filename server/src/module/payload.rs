//! Reading what a client sends: every valid JSON value, whatever its keys.
//!
//! socketioxide decodes event data through socketioxide-parser-common, whose binary-placeholder
//! check reads the first key of every object as a borrowed `&str`. A key with an escape in it
//! (`{"say \"hi\"":1}`, `{"\u00e9":1}`, `{"C:\\path":1}`) cannot be borrowed, so valid JSON was
//! refused as `invalid_payload` (a stock socket.io-client sends such keys as they are). rtm takes
//! no binary attachments, so [`JsonArg`] reads the packet's JSON text with serde_json itself.
//! Minimal reproduction, for an upstream report: with socketioxide 0.18.9,
//! `TryData<serde_json::Value>` of the event `42["ev",{"a\"b":1}]` is an error ("invalid type:
//! string \"a\\\"b\", expected a borrowed string").

use std::convert::Infallible;
use std::sync::Arc;

use serde::de::Error as _;
use serde_json::Value;
use socketioxide::ParserError;
use socketioxide::adapter::Adapter;
use socketioxide::handler::{FromMessageParts, Value as PacketData};
use socketioxide::socket::Socket;

/// A request payload as a handler gets it: `Err` when it could not be decoded.
pub type Payload = Result<Value, ParserError>;

/// An extractor: the event's first argument (`null` when there is none), or `Err` when the
/// packet is not JSON text.
pub(crate) struct JsonArg(pub(crate) Payload);

impl<A: Adapter> FromMessageParts<A> for JsonArg {
    type Error = Infallible;

    fn from_message_parts(
        _: &Arc<Socket<A>>,
        data: &mut PacketData,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Self(first_arg(data)))
    }
}

/// The event's first argument, from the packet's data.
fn first_arg(data: &PacketData) -> Result<Value, ParserError> {
    let text = data
        .as_str()
        .ok_or_else(|| ParserError::new(serde_json::Error::custom("binary data")))?;
    first_arg_of(text).map_err(ParserError::new)
}

/// The second element of the `["event", arg, ...]` array in `text` (`null` when absent).
pub(crate) fn first_arg_of(text: &str) -> Result<Value, serde_json::Error> {
    let args: Vec<Value> = serde_json::from_str(text)?;
    Ok(args.into_iter().nth(1).unwrap_or(Value::Null))
}
