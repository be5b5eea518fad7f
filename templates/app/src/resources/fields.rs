//! Parsing and validating the fields of resource bodies, one function per field type.

use time::{Date, OffsetDateTime, format_description::well_known::Rfc3339};
use uuid::Uuid;

use crate::error::{AppError, FieldErrors};

/// The most characters a `string` field holds.
pub const MAX_STRING_CHARS: usize = 255;

/// Collects every invalid field of a body before answering 422 with all of them.
#[derive(Debug, Default)]
pub struct Validator {
    errors: FieldErrors,
}

impl Validator {
    /// A field whose column is NOT NULL: required when `creating`, never null.
    pub fn value<T, U>(
        &mut self,
        name: &'static str,
        input: Option<Option<T>>,
        creating: bool,
        parse: impl FnOnce(T) -> Result<U, &'static str>,
    ) -> Option<U> {
        match input {
            None if creating => self.reject(name, "is required"),
            None => None,
            Some(None) => self.reject(name, "must not be null"),
            Some(Some(value)) => self.parse(name, value, parse),
        }
    }

    /// A nullable field: absent stays `None`, `null` is `Some(None)`.
    pub fn nullable<T, U>(
        &mut self,
        name: &'static str,
        input: Option<Option<T>>,
        parse: impl FnOnce(T) -> Result<U, &'static str>,
    ) -> Option<Option<U>> {
        match input {
            None => None,
            Some(None) => Some(None),
            Some(Some(value)) => self.parse(name, value, parse).map(Some),
        }
    }

    /// Records a problem with a field found outside this validator, such as a reference
    /// to a row that does not exist.
    pub fn reject<U>(&mut self, name: &'static str, message: &str) -> Option<U> {
        self.errors
            .entry(name.to_owned())
            .or_default()
            .push(message.to_owned());
        None
    }

    /// 422 with every problem found, if any.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }

    fn parse<T, U>(
        &mut self,
        name: &'static str,
        value: T,
        parse: impl FnOnce(T) -> Result<U, &'static str>,
    ) -> Option<U> {
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err(message) => self.reject(name, message),
        }
    }
}

/// Any value of the field's JSON type is valid.
pub fn any<T>(value: T) -> Result<T, &'static str> {
    Ok(value)
}

/// A `string`: at most 255 characters.
pub fn string(value: String) -> Result<String, &'static str> {
    if value.chars().count() > MAX_STRING_CHARS {
        return Err("must be at most 255 characters");
    }
    Ok(value)
}

/// A required `string`: not blank, like a missing one, and at most 255 characters.
pub fn required_string(value: String) -> Result<String, &'static str> {
    required_text(value).and_then(string)
}

/// A required `text`: not blank (only whitespace), like a missing one.
pub fn required_text(value: String) -> Result<String, &'static str> {
    if value.trim().is_empty() {
        return Err("must not be blank");
    }
    Ok(value)
}

/// An `f64`: JSON has no NaN or infinity, but a finite check keeps the column sane.
pub fn float(value: f64) -> Result<f64, &'static str> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err("must be a finite number")
    }
}

/// A `decimal`, kept as its exact text: an optional sign, digits, an optional fraction.
pub fn decimal(value: String) -> Result<String, &'static str> {
    let digits = value.strip_prefix('-').unwrap_or(&value);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if all_digits(whole) && all_digits(fraction) && whole.len() + fraction.len() <= 38 {
        Ok(value)
    } else {
        Err("must be a decimal number as a string, such as \"12.50\"")
    }
}

/// A `date`: `YYYY-MM-DD`.
pub fn date(value: String) -> Result<Date, &'static str> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(&value, format).map_err(|_| "must be a date such as \"2027-01-31\"")
}

/// A `datetime`: RFC 3339, stored in UTC.
pub fn datetime(value: String) -> Result<OffsetDateTime, &'static str> {
    OffsetDateTime::parse(&value, &Rfc3339)
        .map(|at| at.to_offset(time::UtcOffset::UTC))
        .map_err(|_| "must be an RFC 3339 date-time such as \"2027-01-31T09:30:00Z\"")
}

/// A `uuid` or a reference: a UUID string.
pub fn uuid(value: String) -> Result<Uuid, &'static str> {
    value.parse().map_err(|_| "must be a UUID")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_text() {
        for ok in ["0", "12.50", "-3", "1234567890.0001"] {
            assert_eq!(decimal(ok.to_owned()).as_deref(), Ok(ok));
        }
        for bad in ["", "abc", "1.", ".5", "1e3", "--1", "1.2.3"] {
            assert!(decimal(bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_and_datetimes_are_strict() {
        assert!(date("2027-01-31".to_owned()).is_ok());
        assert!(date("2027-13-01".to_owned()).is_err());
        let at = datetime("2027-01-31T10:30:00+01:00".to_owned()).unwrap();
        assert_eq!(at.offset(), time::UtcOffset::UTC);
        assert_eq!(at.hour(), 9);
        assert!(datetime("tomorrow".to_owned()).is_err());
    }

    #[test]
    fn the_validator_reports_missing_null_and_invalid_fields() {
        let mut validator = Validator::default();
        let missing: Option<String> = validator.value("a", None::<Option<String>>, true, string);
        let null: Option<String> = validator.value("b", Some(None), false, string);
        let long = validator.value("c", Some(Some("x".repeat(256))), true, string);
        let blank = validator.value("e", Some(Some(" \t\n".to_owned())), true, required_string);
        let unchanged = validator.nullable("d", None::<Option<String>>, string);
        assert!(missing.is_none() && null.is_none() && long.is_none() && unchanged.is_none());
        assert!(blank.is_none());
        let Err(AppError::Validation(errors)) = validator.finish() else {
            panic!("expected 422");
        };
        let named: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(named, ["a", "b", "c", "e"]);
    }
}
