//! Values between the store's areas and PostgreSQL: the areas' `?`
//! placeholders written as `$N`, arguments encoded as the column's type
//! asks, and rows decoded through the same [`Row`] as SQLite's.

use crate::store::sql::{Error, Ref, Result, Row};
use bytes::BytesMut;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

/// The areas' placeholders as PostgreSQL writes them: `?N` is `$N`, a bare
/// `?` is one more than the largest number before it (SQLite's rule).
/// Text in quotes is left alone.
pub(super) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut chars, mut largest, mut quoted) = (sql.chars().peekable(), 0u32, false);
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '?' || quoted {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let n = match digits.parse::<u32>() {
            Ok(n) => n,
            Err(_) => largest + 1,
        };
        largest = largest.max(n);
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// An argument encoded as the statement's parameter type asks: integers
/// for integer columns, text for text, and so on.
#[derive(Debug)]
pub(super) struct PgArg<'a>(pub(super) Ref<'a>);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for PgArg<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match self.0 {
            Ref::Null => Ok(IsNull::Yes),
            Ref::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                Type::FLOAT8 => (v as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("an integer for a parameter of type {ty}").into()),
            },
            Ref::Real(v) => match *ty {
                Type::FLOAT8 => v.to_sql(ty, out),
                Type::FLOAT4 => (v as f32).to_sql(ty, out),
                _ => Err(format!("a real number for a parameter of type {ty}").into()),
            },
            Ref::Text(v) => v.to_sql(ty, out),
            Ref::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A row PostgreSQL answered.
pub(super) struct PgRow<'r>(pub(super) &'r tokio_postgres::Row);

impl PgRow<'_> {
    fn decode<'a, T: FromSql<'a>>(&'a self, i: usize) -> Result<Option<T>> {
        self.0
            .try_get::<_, Option<T>>(i)
            .map_err(|e| Error::Other(format!("decoding column {}: {e}", self.name(i))))
    }
}

impl Row for PgRow<'_> {
    fn index(&self, name: &str, at: usize) -> Result<usize> {
        let columns = self.0.columns();
        if columns.get(at).is_some_and(|c| c.name() == name) {
            return Ok(at);
        }
        columns
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| Error::Other(format!("no column {name} in the row")))
    }

    fn name(&self, i: usize) -> &str {
        self.0.columns().get(i).map_or("?", |c| c.name())
    }

    fn get(&self, i: usize) -> Result<Ref<'_>> {
        let ty = self
            .0
            .columns()
            .get(i)
            .map(|c| c.type_().clone())
            .ok_or_else(|| Error::Other(format!("no column {i} in the row")))?;
        let value = match ty {
            Type::INT8 => self.decode::<i64>(i)?.map(Ref::Int),
            Type::INT4 => self.decode::<i32>(i)?.map(|v| Ref::Int(v.into())),
            Type::INT2 => self.decode::<i16>(i)?.map(|v| Ref::Int(v.into())),
            Type::BOOL => self.decode::<bool>(i)?.map(|v| Ref::Int(v.into())),
            Type::NUMERIC => self.decode::<Numeric>(i)?.map(|v| Ref::Int(v.0)),
            Type::FLOAT8 => self.decode::<f64>(i)?.map(Ref::Real),
            Type::FLOAT4 => self.decode::<f32>(i)?.map(|v| Ref::Real(v.into())),
            Type::BYTEA => self.decode::<&[u8]>(i)?.map(Ref::Blob),
            _ => self.decode::<&str>(i)?.map(Ref::Text),
        };
        Ok(value.unwrap_or(Ref::Null))
    }
}

/// A whole NUMERIC, as PostgreSQL answers a SUM of integers.
struct Numeric(i64);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        let word = |k: usize| -> std::result::Result<i16, BoxError> {
            let b = raw.get(2 * k..2 * k + 2).ok_or("a short NUMERIC")?;
            Ok(i16::from_be_bytes([b[0], b[1]]))
        };
        let (digits, weight, sign) = (word(0)?, word(1)?, word(2)? as u16);
        let mut value: i64 = 0;
        for k in 0..digits.max(0) as usize {
            let digit = i64::from(word(4 + k)?);
            let power = i32::from(weight) - k as i32;
            if power < 0 {
                if digit != 0 {
                    return Err("a NUMERIC with a fraction where a whole number belongs".into());
                }
                continue;
            }
            let scaled = 10_000i64
                .checked_pow(power as u32)
                .and_then(|p| digit.checked_mul(p))
                .ok_or("a NUMERIC too large for 64 bits")?;
            value = value
                .checked_add(scaled)
                .ok_or("a NUMERIC too large for 64 bits")?;
        }
        match sign {
            0x0000 => Ok(Numeric(value)),
            0x4000 => Ok(Numeric(-value)),
            _ => Err("a NUMERIC that is not a number".into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(placeholders("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(
            placeholders("x > ?1 AND y <= ?1 LIMIT ?2"),
            "x > $1 AND y <= $1 LIMIT $2"
        );
        assert_eq!(placeholders("?2, ?"), "$2, $3");
        assert_eq!(placeholders("'what?' = ?"), "'what?' = $1");
    }

    /// PostgreSQL's binary NUMERIC: digit count, weight, sign, scale, then
    /// base-10000 digits.
    fn numeric(weight: i16, sign: u16, scale: i16, digits: &[i16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for w in [digits.len() as i16, weight, sign as i16, scale] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            raw.extend_from_slice(&d.to_be_bytes());
        }
        raw
    }

    #[test]
    fn a_sum_read_as_numeric_is_the_whole_number_or_an_error() {
        let read = |raw: Vec<u8>| Numeric::from_sql(&Type::NUMERIC, &raw).map(|n| n.0);
        assert_eq!(read(numeric(1, 0, 0, &[1234, 5678])).unwrap(), 12_345_678);
        assert_eq!(read(numeric(0, 0x4000, 0, &[42])).unwrap(), -42);
        assert_eq!(read(numeric(2, 0, 0, &[7])).unwrap(), 700_000_000);
        assert_eq!(read(numeric(0, 0, 0, &[])).unwrap(), 0);
        assert_eq!(
            read(numeric(0, 0, 2, &[5, 0])).unwrap(),
            5,
            "a zero fraction"
        );
        assert!(
            read(numeric(0, 0, 2, &[5, 5000])).is_err(),
            "5.5 is no integer"
        );
        assert!(read(numeric(0, 0xC000, 0, &[])).is_err(), "NaN");
        assert!(read(numeric(5, 0, 0, &[9999])).is_err(), "past 64 bits");
        assert!(read(vec![0, 1]).is_err(), "cut short");
    }
}
