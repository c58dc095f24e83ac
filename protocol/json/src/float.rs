//! Decimal to `f64` without the standard library's parser, whose tables alone are more than the
//! rest of the JSON reader.
//!
//! `digits × 10^e` is `digits × 5^e × 2^e`: the power of two is exact in an `f64`, and the power
//! of five is applied 22 at a time to a 128-bit mantissa, with the bits that fall off remembered
//! in its lowest bit. The error stays far below the 53 bits an `f64` keeps, so the one rounding
//! at the end is the correct one (up to inputs within 2^-60 of a halfway point), subnormals included.

/// The largest power of five a step applies: `5^22 < 2^52`.
const MAX_STEP: u32 = 22;

/// `digits × 10^exp10`, or `None` when that is too large for an `f64`.
pub(super) fn decimal_to_f64(digits: u64, exp10: i32) -> Option<f64> {
    if digits == 0 {
        return Some(0.0);
    }
    let mut wide = Wide::new(digits);
    let mut exp = exp10;
    while exp != 0 {
        let step = exp.unsigned_abs().min(MAX_STEP);
        let five = 5u64.pow(step);
        if exp > 0 {
            wide.mul(five);
            wide.exp += step as i32;
            exp -= step as i32;
        } else {
            wide.div(five);
            wide.exp -= step as i32;
            exp += step as i32;
        }
        if wide.exp > 1100 {
            return None;
        }
        if wide.exp < -1300 {
            return Some(0.0);
        }
    }
    let value = wide.to_f64();
    value.is_finite().then_some(value)
}

/// A positive number `mant × 2^exp`, `mant` with its top bit set; a set lowest bit also stands
/// for any bits dropped below it.
struct Wide {
    mant: u128,
    exp: i32,
}

impl Wide {
    fn new(digits: u64) -> Self {
        let shift = digits.leading_zeros() + 64;
        Wide {
            mant: u128::from(digits) << shift,
            exp: -(shift as i32),
        }
    }

    /// Multiplies by `five` (< 2^52): a 192-bit product, of which the top 128 bits stay.
    fn mul(&mut self, five: u64) {
        let high = (self.mant >> 64) * u128::from(five);
        let low = (self.mant as u64 as u128) * u128::from(five);
        let top = high + (low >> 64);
        let rest = low as u64;
        let zeros = top.leading_zeros();
        self.mant = if zeros == 0 {
            top
        } else {
            (top << zeros) | u128::from(rest >> (64 - zeros))
        };
        self.mant |= u128::from(rest << zeros != 0);
        self.exp += 64 - zeros as i32;
    }

    /// Divides by `five` (< 2^52): a 192-bit quotient, of which the top 128 bits stay.
    fn div(&mut self, five: u64) {
        let five = u128::from(five);
        let high = self.mant / five;
        let remainder = self.mant - high * five;
        let low_numerator = remainder << 64;
        let low = low_numerator / five;
        let inexact = low_numerator - low * five != 0;
        // `high` is at least 2^127 / 2^52, so 1 ≤ zeros ≤ 52.
        let zeros = high.leading_zeros();
        self.mant = (high << zeros) | (low >> (64 - zeros));
        self.mant |= u128::from(inexact || (low as u64) << zeros != 0);
        self.exp -= zeros as i32;
    }

    /// Rounds to the nearest `f64` (half to even), once: the top 64 bits with the rest as the
    /// lowest bit convert with one rounding, and for subnormal results the rounding is done here,
    /// at the bit worth 2^-1074.
    fn to_f64(&self) -> f64 {
        let top = (self.mant >> 64) as u64 | u64::from(self.mant as u64 != 0);
        let exp = self.exp + 64; // the value is `top × 2^exp`
        if exp + 63 >= -1022 {
            // Normal (or too large: infinite): scaling a normal number by 2^k is exact.
            let half = exp / 2;
            return top as f64 * pow2(half) * pow2(exp - half);
        }
        let drop = (-1074 - exp) as u32;
        if drop > 64 {
            return 0.0;
        }
        let top = u128::from(top);
        let kept = top >> drop;
        let rest = top - (kept << drop);
        let half = 1u128 << (drop - 1);
        let up = rest > half || (rest == half && kept & 1 == 1);
        (kept + u128::from(up)) as f64 * f64::from_bits(1)
    }
}

/// `2^exp`, exactly, for `-1022 ≤ exp ≤ 1023`; infinite above.
fn pow2(exp: i32) -> f64 {
    if exp > 1023 {
        f64::INFINITY
    } else {
        f64::from_bits(((1023 + exp) as u64) << 52)
    }
}
