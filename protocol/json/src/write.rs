//! A [`Value`] as compact JSON text, byte for byte what `serde_json::to_string` writes.

use std::fmt::Write as _;

use serde_json::Value;

/// The value as JSON text.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Appends the value as JSON text.
pub fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
    }
}

/// Appends `s` as a JSON string: quoted, with `"`, `\` and control characters escaped.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, byte) in s.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            // `\u00XX`, as `write!(out, "\\u{byte:04x}")` would (without the formatter's hex).
            let hex = |digit: u8| char::from(b"0123456789abcdef"[usize::from(digit)]);
            out.push_str("\\u00");
            out.push(hex(byte >> 4));
            out.push(hex(byte & 0xf));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_what_serde_json_writes() {
        let control: String = (0u8..0x20).map(char::from).collect();
        let values = [
            json!(null),
            json!([
                true,
                false,
                0,
                -1,
                u64::MAX,
                i64::MIN,
                1.5,
                1.0,
                -0.0,
                1e300,
                5e-324
            ]),
            json!({"b": {"c": []}, "a": "x", "": {}}),
            json!(control),
            json!("quote \" backslash \\ slash / unicode é 😀 \u{7f} \u{2028}"),
            json!(0.1 + 0.2),
        ];
        for value in values {
            assert_eq!(to_string(&value), serde_json::to_string(&value).unwrap());
        }
    }

    /// A random value: nested, with strings of any characters and numbers of every kind.
    fn random_value(rng: &mut fastrand::Rng, depth: u32) -> serde_json::Value {
        use serde_json::Value;
        let string = |rng: &mut fastrand::Rng| -> String {
            (0..rng.usize(0..8))
                .map(|_| match rng.u8(0..4) {
                    0 => rng.char('\u{0}'..='\u{1f}'),
                    1 => rng.char(' '..='~'),
                    2 => rng.char('\u{80}'..='\u{d7ff}'),
                    _ => rng.char('\u{10000}'..='\u{10ffff}'),
                })
                .collect()
        };
        match rng.u8(0..if depth == 0 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.bool()),
            2 => Value::from(rng.u64(..)),
            3 => Value::from(rng.i64(..)),
            4 => serde_json::Number::from_f64(f64::from_bits(rng.u64(..)))
                .map_or(Value::Null, Value::Number),
            5 => Value::String(string(rng)),
            6 => Value::Array(
                (0..rng.usize(0..5))
                    .map(|_| random_value(rng, depth - 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.usize(0..5))
                    .map(|_| (string(rng), random_value(rng, depth - 1)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn random_values_match_serde_json_both_ways() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..5_000 {
            let value = random_value(&mut rng, 4);
            let text = to_string(&value);
            assert_eq!(text, serde_json::to_string(&value).unwrap());
            assert_eq!(super::super::parse(&text).unwrap(), value, "{text}");
        }
    }

    #[test]
    fn round_trips_through_the_reader() {
        let value = json!({"s": "a\u{0}b\"c", "n": [1, -2, 3.25], "o": {"k": null}});
        assert_eq!(super::super::parse(&to_string(&value)).unwrap(), value);
    }
}
