//! JSON text to a [`Value`] (RFC 8259), as strict as serde_json: no trailing commas, comments,
//! lone surrogates, or numbers JSON cannot hold (`NaN`, infinities).

use serde_json::{Map, Number, Value};

use super::float::decimal_to_f64;

/// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Invalid JSON text, with the byte offset where reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {0}")]
pub struct ParseError(pub usize);

/// Parses one JSON value; only whitespace may follow it.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos == parser.bytes.len() {
        Ok(value)
    } else {
        Err(parser.error())
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self) -> ParseError {
        ParseError(self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `byte` after optional whitespace.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, ParseError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error())
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        self.skip_whitespace();
        match self.peek().ok_or_else(|| self.error())? {
            b'n' => self.literal("null", Value::Null),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'[' => self.nested(Self::array),
            b'{' => self.nested(Self::object),
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            _ => Err(self.error()),
        }
    }

    fn nested(
        &mut self,
        read: fn(&mut Self) -> Result<Value, ParseError>,
    ) -> Result<Value, ParseError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error());
        }
        self.depth += 1;
        self.pos += 1;
        let value = read(self)?;
        self.depth -= 1;
        Ok(value)
    }

    fn array(&mut self) -> Result<Value, ParseError> {
        let mut items = Vec::new();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.error());
            }
        }
    }

    fn object(&mut self) -> Result<Value, ParseError> {
        let mut map = Map::new();
        if self.eat(b'}') {
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error());
            }
            let key = self.string()?;
            if !self.eat(b':') {
                return Err(self.error());
            }
            map.insert(key, self.value()?);
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            if !self.eat(b',') {
                return Err(self.error());
            }
        }
    }

    /// A string; `pos` is at its opening quote.
    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Stops only at ASCII bytes, so both ends are char boundaries.
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                _ => return Err(self.error()),
            }
        }
    }

    /// The character of an escape; `pos` is after its backslash.
    fn escape(&mut self) -> Result<char, ParseError> {
        let byte = self.peek().ok_or_else(|| self.error())?;
        self.pos += 1;
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return Err(self.error()),
        })
    }

    /// `\uXXXX`, or a surrogate pair of two; `pos` is after the `u`.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.pos..].starts_with(b"\\u") {
                    return Err(self.error());
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error());
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error()),
            _ => first,
        };
        char::from_u32(code).ok_or_else(|| self.error())
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        // Digit by digit: `u32::from_str_radix` is a few hundred bytes of WebAssembly more.
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error())?;
        let mut value = 0;
        for &byte in digits {
            let digit = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'f' => byte - b'a' + 10,
                b'A'..=b'F' => byte - b'A' + 10,
                _ => return Err(self.error()),
            };
            value = value * 16 + u32::from(digit);
        }
        self.pos += 4;
        Ok(value)
    }

    /// A number: an integer when it is one and fits 64 bits, else a finite float.
    fn number(&mut self) -> Result<Number, ParseError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        // The first 19 significant digits and the power of ten that scales them.
        let mut digits = Decimal::default();
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(&mut digits, false),
            _ => return Err(self.error()),
        }
        let integer_end = self.pos;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.required(|p| p.digits(&mut digits, true))?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let sign = match self.peek() {
                Some(b'-') => -1,
                Some(b'+') => 1,
                _ => 0,
            };
            if sign != 0 {
                self.pos += 1;
            }
            let mut exp: i32 = 0;
            self.required(|p| {
                while let Some(d @ b'0'..=b'9') = p.peek() {
                    exp = (exp * 10 + i32::from(d - b'0')).min(100_000);
                    p.pos += 1;
                }
            })?;
            digits.exp10 += if sign < 0 { -exp } else { exp };
        }
        if self.pos == integer_end {
            let text = &self.text[start..self.pos];
            let exact = if negative {
                // `-0` is a float, as in serde_json.
                // As `text.parse::<i64>()`, with the one digit reader.
                crate::parse_u64(&text[1..])
                    .and_then(|n| 0i64.checked_sub_unsigned(n))
                    .filter(|i| *i != 0)
                    .map(Number::from)
            } else {
                crate::parse_u64(text).map(Number::from)
            };
            if let Some(number) = exact {
                return Ok(number);
            }
        }
        decimal_to_f64(digits.value, digits.exp10)
            .and_then(|f| Number::from_f64(if negative { -f } else { f }))
            .ok_or(ParseError(start))
    }

    /// Reads decimal digits into `decimal`; `fraction` for those after the point.
    fn digits(&mut self, decimal: &mut Decimal, fraction: bool) {
        while let Some(d @ b'0'..=b'9') = self.peek() {
            self.pos += 1;
            if decimal.value < MAX_EXACT_DIGITS {
                decimal.value = decimal.value * 10 + u64::from(d - b'0');
                if fraction {
                    decimal.exp10 -= 1;
                }
            } else if !fraction {
                decimal.exp10 += 1;
            }
        }
    }

    /// Runs `read`, which must consume at least one byte.
    fn required(&mut self, read: impl FnOnce(&mut Self)) -> Result<(), ParseError> {
        let start = self.pos;
        read(self);
        if self.pos == start {
            Err(self.error())
        } else {
            Ok(())
        }
    }
}

/// A decimal's leading digits and the power of ten that scales them.
#[derive(Default)]
struct Decimal {
    value: u64,
    exp10: i32,
}

/// Once the digits reach this, one more would overflow `u64`: later digits are dropped.
const MAX_EXACT_DIGITS: u64 = (u64::MAX - 9) / 10;

#[cfg(test)]
mod tests {
    use super::*;

    /// Both readers agree on valid documents.
    #[test]
    fn reads_what_serde_json_reads() {
        let docs = [
            r#"null"#,
            r#" true "#,
            r#"false"#,
            r#"0"#,
            r#"-0"#,
            r#"18446744073709551615"#,
            r#"18446744073709551616"#,
            r#"-9223372036854775808"#,
            r#"-9223372036854775809"#,
            r#"9007199254740993"#,
            r#"[1.5, -2.25e3, 1E-7, 0.30000000000000004, 123456789012345678901234567890]"#,
            r#"{"a": {"b": [true, null, {}]}, "c": [], "d": "e"}"#,
            r#""esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 plain é 😀""#,
            r#""hex \u00E9 \u00e9 \uD83D\uDE00 \uabcd \uABCD \u0000""#,
            r#"[-1, -42, -9223372036854775807, 9223372036854775808]"#,
            "\t[\n1 ,\r2 ]\n",
            r#"{"dup": 1, "dup": 2}"#,
        ];
        for doc in docs {
            let ours = parse(doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
            let theirs: Value = serde_json::from_str(doc).unwrap();
            assert_eq!(ours, theirs, "{doc}");
        }
    }

    /// Both readers refuse invalid documents.
    #[test]
    fn refuses_what_serde_json_refuses() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let docs = [
            "",
            " ",
            "nul",
            "[1,]",
            r#"{"a":1,}"#,
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "1e+",
            "+1",
            r#""\x""#,
            "\"\u{1}\"",
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            "[1] x",
            "NaN",
            "Infinity",
            "1e400",
            "-1e400",
            r#"{1:2}"#,
            r#"{"a" 1}"#,
            "[1 2]",
            r#""open"#,
            r#""\u12""#,
            r#""\u00g0""#,
            r#""\u00é""#,
            r#""\u"#,
            "--1",
            "-+1",
            &deep,
        ];
        for doc in docs {
            assert!(parse(doc).is_err(), "accepted {doc:?}");
            assert!(
                serde_json::from_str::<Value>(doc).is_err(),
                "serde accepts {doc:?}"
            );
        }
        let ok_depth = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok_depth).is_ok());
    }

    #[test]
    fn reports_where_it_stopped() {
        assert_eq!(parse("[1, x]"), Err(ParseError(4)));
        assert_eq!(parse(r#"{"a": 1e999}"#), Err(ParseError(6)));
    }

    /// Floats as `JSON.stringify` writes them come back bit for bit.
    #[test]
    fn floats_round_trip_exactly() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..50_000 {
            let f = f64::from_bits(rng.u64(..));
            if !f.is_finite() {
                continue;
            }
            let text = serde_json::to_string(&f).unwrap();
            let ours = parse(&text).unwrap();
            assert_eq!(ours.as_f64().map(f64::to_bits), Some(f.to_bits()), "{text}");
        }
    }

    /// Decimals with up to 19 digits are correctly rounded, whatever the exponent.
    #[test]
    fn decimals_round_like_the_standard_library() {
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..200_000 {
            let digits = rng.u64(1..10_000_000_000_000_000_000);
            let exp = rng.i32(-345..=310);
            let text = format!("{digits}e{exp}");
            let std = text.parse::<f64>().unwrap();
            if std.is_infinite() {
                assert!(parse(&text).is_err(), "{text}");
                continue;
            }
            let ours = parse(&text).unwrap().as_f64().unwrap();
            assert_eq!(ours.to_bits(), std.to_bits(), "{text}");
        }
    }

    #[test]
    fn extremes_round_like_the_standard_library() {
        for text in [
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "5e-324",
            "2.4703282292062328e-324",
            "2.2250738585072014e-308",
            "2.2250738585072011e-308",
            "1e-300",
            "9007199254740993e0",
            "123456789012345678901234567890e-40",
            "0.000000000000000000000000000001e-280",
        ] {
            let ours = parse(text).unwrap().as_f64().unwrap();
            let std = text.parse::<f64>().unwrap();
            assert_eq!(ours.to_bits(), std.to_bits(), "{text}: {ours} vs {std}");
        }
        assert!(parse("1.8e308").is_err());
        assert_eq!(parse("1e-400").unwrap().as_f64(), Some(0.0));
    }
}
