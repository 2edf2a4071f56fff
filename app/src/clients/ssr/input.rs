//! Validation of what staff and visitors type about a client: phone, name,
//! birth year and the whole form.

use super::*;
use crate::error::{AppError, InvalidCode};
use crate::vocab::Source;

/// A phone typed any usual way, as E.164 (+998 and nine digits).
pub fn normalize_phone(value: &str) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid("phone", InvalidCode::Required));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()".contains(c))
    {
        return Err(AppError::invalid("phone", InvalidCode::BadFormat));
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        9 => Ok(format!("+998{digits}")),
        12 if digits.starts_with("998") => Ok(format!("+{digits}")),
        _ => Err(AppError::invalid("phone", InvalidCode::BadFormat)),
    }
}

/// A person's name: letters of any script, spaces, apostrophes, hyphens, dots.
pub fn validate_name(value: &str) -> Result<String, AppError> {
    let name = crate::error::required_text("full_name", value, crate::error::limits::NAME_MAX)?;
    let allowed = |c: char| c.is_alphabetic() || " '‘’ʻʼ`-.".contains(c);
    if name.chars().count() < 2 || !name.chars().all(allowed) {
        return Err(AppError::invalid("full_name", InvalidCode::BadFormat));
    }
    Ok(name.split_whitespace().collect::<Vec<_>>().join(" "))
}

pub fn validate_birth_year(value: &str, now: i64) -> Result<Option<i64>, AppError> {
    let year = current_year(now);
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let y: i64 = value
        .parse()
        .map_err(|_| AppError::invalid("birth_year", InvalidCode::BadFormat))?;
    // A client is at least 16 and at most 110 years old.
    if !(year - 110..=year - 16).contains(&y) {
        return Err(AppError::invalid("birth_year", InvalidCode::OutOfRange));
    }
    Ok(Some(y))
}

/// A client's editable details, validated.
pub struct ClientInput {
    pub full_name: String,
    pub phone: String,
    pub birth_year: Option<i64>,
    pub gender: Option<&'static str>,
    pub source: Source,
    pub car_model_id: Option<i64>,
}

pub fn parse_input(form: &crate::clients::ClientForm, now: i64) -> Result<ClientInput, AppError> {
    let gender = match form.gender.trim() {
        "" => None,
        "male" => Some("male"),
        "female" => Some("female"),
        _ => return Err(AppError::invalid("gender", InvalidCode::UnknownValue)),
    };
    let source = Source::parse(form.source.trim())
        .ok_or_else(|| AppError::invalid("source", InvalidCode::UnknownValue))?;
    let car_model_id = match form.car.trim() {
        "" => None,
        c => Some(
            c.parse()
                .map_err(|_| AppError::invalid("car", InvalidCode::BadFormat))?,
        ),
    };
    Ok(ClientInput {
        full_name: validate_name(&form.full_name)?,
        phone: normalize_phone(&form.phone)?,
        birth_year: validate_birth_year(&form.birth_year, now)?,
        gender,
        source,
        car_model_id,
    })
}
