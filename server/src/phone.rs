//! Phone numbers as the club keeps them: E.164 (`+4930123456`), whatever
//! the spelling typed, read in the club's region when there is no `+`.

use phonenumber::country::Id;
use phonenumber::Mode;

/// The region a club starts with (`phone_region` in the settings).
pub const DEFAULT_REGION: &str = "US";

/// The region's code as the phone library knows it (exactly as the
/// settings' schema lists them: two capital letters), or why not.
pub fn region(code: &str) -> Result<Id, String> {
    code.parse::<Id>()
        .ok()
        .filter(|id| phonenumber::metadata::DATABASE.by_id(id.as_ref()).is_some())
        .ok_or_else(|| {
            format!("{code:?} is not a region code (ISO 3166, two capital letters: US, DE, GB, …)")
        })
}

/// Every region code `region` takes, for the settings' schema.
pub fn region_codes() -> Vec<String> {
    let mut codes: Vec<String> = phonenumber::metadata::DATABASE
        .iter()
        .map(|m| m.id().to_owned())
        .filter(|id| region(id).is_ok())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// `phone_region` as the document states it: one of the codes.
pub fn region_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(region_codes()))
        .description(Some(
            "The region (ISO 3166) a phone number typed without `+` is read in; every number \
             is kept in E.164.",
        ))
        .build()
}

/// `text` in E.164, read in `region` unless it starts with `+`. What the
/// request schemas allow (at least 5 digits, and only `+ - ( )` and spaces
/// besides) is always taken: a number the phone library cannot read (an
/// unknown country code, too many digits) is kept as its digits, with the
/// `+` it was typed with, so it still has one spelling. Anything else is
/// an error saying why.
pub fn normalize(text: &str, region: Id) -> Result<String, String> {
    let text = text.trim();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 5
        || !text
            .chars()
            .all(|c| c.is_ascii_digit() || " ()+-".contains(c))
    {
        return Err(
            "must be a phone number: at least 5 digits, and only + - ( ) and spaces besides".into(),
        );
    }
    if let Ok(number) = phonenumber::parse(Some(region), text) {
        return Ok(number.format().mode(Mode::E164).to_string());
    }
    let plus = text.trim_start_matches(['(', ' ']).starts_with('+');
    Ok(format!("{}{digits}", if plus { "+" } else { "" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_number_is_the_same_e164() {
        let de = region("DE").unwrap();
        for typed in [
            "+49 30 1234567",
            "+49 (30) 123-4567",
            "+49301234567",
            "030 1234567",
            "(030) 123 45 67",
        ] {
            assert_eq!(normalize(typed, de).unwrap(), "+49301234567", "{typed}");
        }
        let us = region("US").unwrap();
        assert_eq!(normalize("(212) 555-0100", us).unwrap(), "+12125550100");
        assert_eq!(normalize("+1 212 555 0100", de).unwrap(), "+12125550100");
        assert_eq!(normalize("+1 555 0101", us).unwrap(), "+15550101");
        // Beyond the library, still one spelling per number.
        assert_eq!(normalize("+999 (12) 345-67", us).unwrap(), "+9991234567");
    }

    #[test]
    fn what_is_not_a_number_or_a_region_is_refused() {
        let us = region(DEFAULT_REGION).unwrap();
        for bad in ["", "12", "call me", "1234", "555-0100; drop", "030/1234567"] {
            assert!(normalize(bad, us).is_err(), "{bad:?}");
        }
        for bad in ["XX", "Germany", "de", " DE", "001"] {
            assert!(region(bad).is_err(), "{bad:?}");
        }
        let codes = region_codes();
        assert!(codes.len() > 200 && codes.iter().all(|c| region(c).is_ok()));
        assert!(codes.contains(&"DE".to_owned()) && codes.contains(&"US".to_owned()));
    }
}
