//! Sizes and numbers as a scenario writes them (`64MiB`, `1.5GiB`, `65%ram`, `0x7f0000000000`),
//! parsed exactly in integers with every overflow checked: no input can panic here.

use crate::op::{Size, SizeBase};
use crate::units::{GIB, KIB, MIB, PAGE_SIZE, TIB};

/// Why a token is not a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SizeError {
    /// Not a number followed by a unit.
    NotASize,
    /// A bare number other than `0`.
    NoUnit,
    /// More than `u64::MAX` bytes (or too many digits to compute).
    TooLarge,
    /// A decimal that does not come out to whole bytes (`1.3B`).
    NotWhole,
    /// A relative size finer than per mille (`12.55%ram`).
    TooPrecise,
    /// A relative size above [`MAX_PER_MILLE`] (`99999999%ram`).
    RelativeTooLarge,
}

/// The largest relative size, 100000% (a thousand times its base). Larger ones mean nothing on
/// any machine, and the cap keeps every resolved size below 2^63 bytes (the base is at most
/// 8 PiB of RAM + swap), so adding one to an address or rounding it up to a page cannot overflow.
pub(crate) const MAX_PER_MILLE: u64 = 1_000_000;

/// The units a size may carry, all binary; `kB` means KiB as in `/proc/meminfo`.
pub(crate) const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", KIB),
    ("K", KIB),
    ("kB", KIB),
    ("KB", KIB),
    ("MiB", MIB),
    ("M", MIB),
    ("MB", MIB),
    ("GiB", GIB),
    ("G", GIB),
    ("GB", GIB),
    ("TiB", TIB),
    ("T", TIB),
    ("TB", TIB),
    ("pages", PAGE_SIZE),
    ("page", PAGE_SIZE),
];

/// At most this many digits in a number: enough for any u64 and keeps every product inside u128.
const MAX_DIGITS: usize = 24;

/// A decimal number `mantissa / 10^decimals`, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decimal {
    mantissa: u128,
    decimals: u32,
}

/// Parse `123` or `1.5` (digits on both sides of the point). `Err(TooLarge)` for too many digits.
fn decimal(s: &str) -> Result<Decimal, SizeError> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty()
        || !all_digits(int)
        || !all_digits(frac)
        || (s.contains('.') && frac.is_empty())
    {
        return Err(SizeError::NotASize);
    }
    // Trailing zeros after the point change nothing; dropping them keeps `1.50000GiB` exact.
    let frac = frac.trim_end_matches('0');
    let int = int.trim_start_matches('0');
    if int.len() + frac.len() > MAX_DIGITS {
        return Err(SizeError::TooLarge);
    }
    let mut mantissa: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        // Cannot overflow: at most MAX_DIGITS (24) digits, and 10^24 < 2^128.
        mantissa = mantissa * 10 + u128::from(b - b'0');
    }
    Ok(Decimal {
        mantissa,
        decimals: frac.len() as u32,
    })
}

/// `value * scale` exactly, as a whole number, or why not.
fn scaled(d: Decimal, scale: u64) -> Result<u128, SizeError> {
    let num = d
        .mantissa
        .checked_mul(u128::from(scale))
        .ok_or(SizeError::TooLarge)?;
    // decimals <= MAX_DIGITS, so 10^decimals fits in u128.
    let den = 10u128.checked_pow(d.decimals).ok_or(SizeError::TooLarge)?;
    if num % den != 0 {
        return Err(SizeError::NotWhole);
    }
    Ok(num / den)
}

/// Parse a size: `0`, `NUMBER UNIT` with no space (`64MiB`, `1.5GiB`, `3pages`), or a relative size
/// `NUMBER%ram`, `NUMBER%swap`, `NUMBER%ramswap` with at most per-mille precision.
pub(crate) fn parse_size(s: &str) -> Result<Size, SizeError> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(SizeError::NotASize);
    }
    let d = decimal(num)?;
    if unit.is_empty() {
        return if d.mantissa == 0 {
            Ok(Size::Bytes(0))
        } else {
            Err(SizeError::NoUnit)
        };
    }
    if let Some(base) = unit.strip_prefix('%') {
        let of = match base {
            "ram" => SizeBase::Ram,
            "swap" => SizeBase::Swap,
            "ramswap" => SizeBase::RamSwap,
            _ => return Err(SizeError::NotASize),
        };
        let per_mille = match scaled(d, 10) {
            Ok(v) => v,
            Err(SizeError::NotWhole) => return Err(SizeError::TooPrecise),
            Err(e) => return Err(e),
        };
        let per_mille = u64::try_from(per_mille)
            .ok()
            .filter(|&p| p <= MAX_PER_MILLE)
            .ok_or(SizeError::RelativeTooLarge)?;
        return Ok(Size::Fraction { per_mille, of });
    }
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, v)| *v)
        .ok_or(SizeError::NotASize)?;
    let bytes = scaled(d, scale)?;
    u64::try_from(bytes)
        .map(Size::Bytes)
        .map_err(|_| SizeError::TooLarge)
}

/// A hexadecimal address `0x…` (`0X` too), at most 64 bits.
pub(crate) fn parse_hex(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// A plain unsigned integer (ASCII digits only: no sign, no unit).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A plain integer with an optional leading `-`.
pub(crate) fn parse_i64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> Result<u64, SizeError> {
        match parse_size(s)? {
            Size::Bytes(b) => Ok(b),
            other => panic!("{s} parsed as {other:?}, not bytes"),
        }
    }

    #[test]
    fn units_are_binary() {
        assert_eq!(bytes("64MiB"), Ok(64 * MIB));
        assert_eq!(bytes("64M"), Ok(64 * MIB));
        assert_eq!(bytes("64MB"), Ok(64 * MIB));
        assert_eq!(bytes("4kB"), Ok(4096));
        assert_eq!(bytes("4KB"), Ok(4096));
        assert_eq!(bytes("4K"), Ok(4096));
        assert_eq!(bytes("4KiB"), Ok(4096));
        assert_eq!(bytes("7B"), Ok(7));
        assert_eq!(bytes("2GB"), Ok(2 * GIB));
        assert_eq!(bytes("1TB"), Ok(TIB));
        assert_eq!(bytes("1page"), Ok(4096));
        assert_eq!(bytes("3pages"), Ok(3 * 4096));
        assert_eq!(bytes("0"), Ok(0));
        assert_eq!(bytes("000"), Ok(0));
        assert_eq!(bytes("0GiB"), Ok(0));
    }

    #[test]
    fn decimals_must_be_whole_bytes() {
        assert_eq!(bytes("1.5GiB"), Ok(3 * GIB / 2));
        assert_eq!(bytes("1.50000000000000000000GiB"), Ok(3 * GIB / 2));
        assert_eq!(bytes("0.5pages"), Ok(2048));
        assert_eq!(bytes("1.5B"), Err(SizeError::NotWhole));
        assert_eq!(bytes("0.1KiB"), Err(SizeError::NotWhole));
        assert_eq!(bytes("1.GiB"), Err(SizeError::NotASize));
        assert_eq!(bytes(".5GiB"), Err(SizeError::NotASize));
        assert_eq!(bytes("1.2.3GiB"), Err(SizeError::NotASize));
    }

    #[test]
    fn bad_units_and_bare_numbers() {
        assert_eq!(bytes("15Gb"), Err(SizeError::NotASize));
        assert_eq!(bytes("15 "), Err(SizeError::NotASize));
        assert_eq!(bytes("MiB"), Err(SizeError::NotASize));
        assert_eq!(bytes("4096"), Err(SizeError::NoUnit));
        assert_eq!(bytes("-1MiB"), Err(SizeError::NotASize));
        assert_eq!(bytes(""), Err(SizeError::NotASize));
        assert_eq!(bytes("5λ"), Err(SizeError::NotASize));
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(bytes("16777215TiB"), Ok(16_777_215 * TIB));
        assert_eq!(bytes("16777216TiB"), Err(SizeError::TooLarge));
        assert_eq!(bytes("18446744073709551615B"), Ok(u64::MAX));
        assert_eq!(bytes("18446744073709551616B"), Err(SizeError::TooLarge));
        assert_eq!(
            bytes("99999999999999999999999999999999999999999TiB"),
            Err(SizeError::TooLarge)
        );
        assert_eq!(
            bytes("1.0000000000000000000000000001B"),
            Err(SizeError::TooLarge)
        );
    }

    #[test]
    fn relative_sizes_are_per_mille() {
        let f = |s: &str| parse_size(s);
        assert_eq!(
            f("65%ram"),
            Ok(Size::Fraction {
                per_mille: 650,
                of: SizeBase::Ram
            })
        );
        assert_eq!(
            f("12.5%swap"),
            Ok(Size::Fraction {
                per_mille: 125,
                of: SizeBase::Swap
            })
        );
        assert_eq!(
            f("50%ramswap"),
            Ok(Size::Fraction {
                per_mille: 500,
                of: SizeBase::RamSwap
            })
        );
        assert_eq!(
            f("12.50%ram"),
            Ok(Size::Fraction {
                per_mille: 125,
                of: SizeBase::Ram
            })
        );
        assert_eq!(f("12.55%ram"), Err(SizeError::TooPrecise));
        assert_eq!(
            f("100000%ramswap"),
            Ok(Size::Fraction {
                per_mille: MAX_PER_MILLE,
                of: SizeBase::RamSwap
            })
        );
        assert_eq!(f("100000.1%ram"), Err(SizeError::RelativeTooLarge));
        assert_eq!(f("99999999%ram"), Err(SizeError::RelativeTooLarge));
        assert_eq!(
            f("999999999999999999999%ram"),
            Err(SizeError::RelativeTooLarge)
        );
        assert_eq!(f("65%disk"), Err(SizeError::NotASize));
        assert_eq!(f("65%"), Err(SizeError::NotASize));
        assert_eq!(f("%ram"), Err(SizeError::NotASize));
    }

    #[test]
    fn numbers_and_addresses() {
        assert_eq!(parse_hex("0x7f00"), Some(0x7f00));
        assert_eq!(parse_hex("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_hex("0x1ffffffffffffffff"), None);
        assert_eq!(parse_hex("0x"), None);
        assert_eq!(parse_hex("0x+1"), None);
        assert_eq!(parse_hex("7f00"), None);
        assert_eq!(parse_u64("+1"), None);
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_i64("-1000"), Some(-1000));
        assert_eq!(parse_i64("-"), None);
        assert_eq!(parse_i64("--1"), None);
    }
}
