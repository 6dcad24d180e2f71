//! Data-test values judged as the earlier tool did (SPEC §7): NULL, boolean false, numeric zero
//! and the empty string fail; anything else passes. Values are read in binary with their types,
//! so a text `'f'` passes while a boolean false fails.

use tokio_postgres::types::{FromSql, Type};

/// Any value, read from its binary form and type.
pub struct Raw(TestValue);

fn numeric_is_zero(raw: &[u8]) -> bool {
    // NUMERIC binary: ndigits i16, weight i16, sign u16, dscale u16, digits…; NaN has sign 0xC000.
    if raw.len() < 8 {
        return false;
    }
    let ndigits = i16::from_be_bytes([raw[0], raw[1]]);
    let sign = u16::from_be_bytes([raw[4], raw[5]]);
    ndigits == 0 && sign != 0xC000
}

/// Whether a non-NULL value of `ty` with binary form `raw` is truthy.
pub fn is_truthy(ty: &Type, raw: &[u8]) -> bool {
    match *ty {
        Type::BOOL => raw.first().is_some_and(|b| *b != 0),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => raw.iter().any(|b| *b != 0),
        Type::FLOAT4 => raw
            .try_into()
            .map(|b: [u8; 4]| f32::from_be_bytes(b) != 0.0)
            .unwrap_or(true),
        Type::FLOAT8 => raw
            .try_into()
            .map(|b: [u8; 8]| f64::from_be_bytes(b) != 0.0)
            .unwrap_or(true),
        Type::NUMERIC => !numeric_is_zero(raw),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => !raw.is_empty(),
        _ => true,
    }
}

impl<'a> FromSql<'a> for Raw {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(TestValue {
            truthy: is_truthy(ty, raw),
            shown: shown(ty, raw),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(TestValue::null()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl Raw {
    pub fn into_value(self) -> TestValue {
        self.0
    }
}

/// One value a data test returned: whether it passes, and how it is shown to the user when its
/// test fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestValue {
    pub truthy: bool,
    pub shown: String,
}

impl TestValue {
    pub fn null() -> TestValue {
        TestValue {
            truthy: false,
            shown: "null".into(),
        }
    }
}

/// Longest text shown for one value; the rest is cut with `…`.
const SHOWN_CHARS: usize = 80;

pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A value's text, for the types tests usually return; others show their type's name.
fn shown(ty: &Type, raw: &[u8]) -> String {
    let int = |n: usize| -> Option<i64> {
        let bytes = raw.get(..n)?;
        let mut value: i64 = if bytes.first()? & 0x80 != 0 { -1 } else { 0 };
        for b in bytes {
            value = (value << 8) | i64::from(*b);
        }
        Some(value)
    };
    let text = match *ty {
        Type::BOOL => raw.first().map(|b| (*b != 0).to_string()),
        Type::INT2 => int(2).map(|v| v.to_string()),
        Type::INT4 => int(4).map(|v| v.to_string()),
        Type::INT8 => int(8).map(|v| v.to_string()),
        Type::OID => raw
            .try_into()
            .ok()
            .map(|b: [u8; 4]| u32::from_be_bytes(b).to_string()),
        Type::FLOAT4 => raw
            .try_into()
            .ok()
            .map(|b: [u8; 4]| f32::from_be_bytes(b).to_string()),
        Type::FLOAT8 => raw
            .try_into()
            .ok()
            .map(|b: [u8; 8]| f64::from_be_bytes(b).to_string()),
        Type::NUMERIC => numeric_text(raw),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            Some(shorten(&String::from_utf8_lossy(raw)))
        }
        // Days, and microseconds, since 2000-01-01.
        Type::DATE => int(4).and_then(|days| {
            jiff::civil::date(2000, 1, 1)
                .checked_add(jiff::Span::new().days(days))
                .ok()
                .map(|d| d.to_string())
        }),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => int(8).and_then(|micros| {
            let epoch_2000 = 946_684_800_000_000i64;
            jiff::Timestamp::from_microsecond(micros.checked_add(epoch_2000)?)
                .ok()
                .map(|t| t.to_string())
        }),
        _ => None,
    };
    text.unwrap_or_else(|| format!("({})", ty.name()))
}

/// NUMERIC's binary form as decimal text: base-10000 digits with a weight (the first digit's
/// power of 10000), a sign and a display scale.
fn numeric_text(raw: &[u8]) -> Option<String> {
    let word = |i: usize| raw.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i64;
    let sign = word(4)?;
    let scale = word(6)? as usize;
    if sign == 0xC000 {
        return Some("NaN".into());
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Option<_>>()?;
    let digit = |index: i64| {
        usize::try_from(index)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    }
    for index in 0..=weight {
        if index == 0 {
            text.push_str(&digit(index).to_string());
        } else {
            text.push_str(&format!("{:04}", digit(index)));
        }
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut index = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(index)));
            index += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_every_kind() {
        assert!(is_truthy(&Type::BOOL, &[1]));
        assert!(!is_truthy(&Type::BOOL, &[0]));
        assert!(!is_truthy(&Type::INT4, &0i32.to_be_bytes()));
        assert!(is_truthy(&Type::INT8, &(-3i64).to_be_bytes()));
        assert!(!is_truthy(&Type::FLOAT8, &(-0.0f64).to_be_bytes()));
        assert!(is_truthy(&Type::FLOAT4, &0.5f32.to_be_bytes()));
        assert!(!is_truthy(&Type::NUMERIC, &[0, 0, 0, 0, 0, 0, 0, 2]));
        assert!(is_truthy(&Type::NUMERIC, &[0, 1, 0, 0, 0, 0, 0, 0, 0, 5]));
        assert!(is_truthy(&Type::NUMERIC, &[0, 0, 0, 0, 0xC0, 0, 0, 0]));
        assert!(!is_truthy(&Type::TEXT, b""));
        assert!(is_truthy(&Type::TEXT, b"f"));
        assert!(is_truthy(&Type::DATE, &[0, 0, 0, 0]));
    }

    #[test]
    fn values_are_shown_as_text() {
        assert_eq!(shown(&Type::BOOL, &[0]), "false");
        assert_eq!(shown(&Type::INT4, &(-42i32).to_be_bytes()), "-42");
        assert_eq!(shown(&Type::INT8, &7i64.to_be_bytes()), "7");
        assert_eq!(shown(&Type::FLOAT8, &0.5f64.to_be_bytes()), "0.5");
        assert_eq!(shown(&Type::TEXT, b""), "");
        assert_eq!(shown(&Type::DATE, &0i32.to_be_bytes()), "2000-01-01");
        assert_eq!(shown(&Type::DATE, &(-1i32).to_be_bytes()), "1999-12-31");
        assert_eq!(
            shown(&Type::TIMESTAMP, &1_000_000i64.to_be_bytes()),
            "2000-01-01T00:00:01Z"
        );
        assert_eq!(shown(&Type::UUID, &[0; 16]), "(uuid)");
        assert_eq!(shorten(&"é".repeat(100)).chars().count(), 81);
    }

    /// NUMERIC in PostgreSQL's binary form: ndigits, weight, sign, dscale, base-10000 digits.
    fn numeric(weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, scale] {
            raw.extend(word.to_be_bytes());
        }
        for d in digits {
            raw.extend(d.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numerics_are_shown_with_their_scale() {
        assert_eq!(numeric_text(&numeric(0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(numeric_text(&numeric(0, 0, 2, &[])).unwrap(), "0.00");
        assert_eq!(
            numeric_text(&numeric(1, 0, 0, &[12, 3456])).unwrap(),
            "123456"
        );
        assert_eq!(
            numeric_text(&numeric(0, 0x4000, 2, &[1, 5000])).unwrap(),
            "-1.50"
        );
        assert_eq!(numeric_text(&numeric(-1, 0, 6, &[12])).unwrap(), "0.001200");
        assert_eq!(
            numeric_text(&numeric(-2, 0, 8, &[12])).unwrap(),
            "0.00000012"
        );
        assert_eq!(numeric_text(&numeric(1, 0, 0, &[1])).unwrap(), "10000");
        assert_eq!(numeric_text(&numeric(0, 0xC000, 0, &[])).unwrap(), "NaN");
    }
}
