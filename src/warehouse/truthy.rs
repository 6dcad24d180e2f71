//! Data-test values judged as the earlier tool did (SPEC §7): NULL, boolean false, numeric zero
//! and the empty string fail; anything else passes. Values are read in binary with their types,
//! so a text `'f'` passes while a boolean false fails.

use tokio_postgres::types::{FromSql, Type};

/// Any value, kept as its binary form and type.
pub struct Raw {
    truthy: bool,
}

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
        Ok(Raw {
            truthy: is_truthy(ty, raw),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw { truthy: false })
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl Raw {
    pub fn truthy(&self) -> bool {
        self.truthy
    }
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
}
