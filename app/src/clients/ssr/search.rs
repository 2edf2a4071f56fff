//! What a client search may ask for, checked: the text it searches and the
//! query fields.

use super::*;
use crate::clients::ClientQuery;
use crate::error::{AppError, InvalidCode};
use crate::vocab::Source;

pub const SEARCH_MAX: usize = 100;

/// What `search_text` holds for a client: the lower-cased name and the phone's digits.
pub fn search_text(full_name: &str, phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!("{} {}", full_name.to_lowercase(), digits)
}

/// What a typed query searches for: a phone's digits, or the lower-cased text.
pub fn needle(q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let looks_like_phone = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    Some(if looks_like_phone {
        q.chars().filter(char::is_ascii_digit).collect()
    } else {
        q.to_lowercase()
    })
}

/// The LIKE pattern for a typed query: a phone typed with or without +998,
/// spaces or dashes becomes its digits; anything else matches the name.
pub fn pattern(q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let looks_like_phone = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    let needle = if looks_like_phone {
        q.chars().filter(char::is_ascii_digit).collect::<String>()
    } else {
        q.to_lowercase()
    };
    let escaped: String = needle
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Some(format!("%{escaped}%"))
}

/// A validated client query.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub pattern: Option<String>,
    /// The typed text as searched (digits of a phone, or lower-case words).
    pub needle: Option<String>,
    pub branch: Option<i64>,
    pub gender: Option<&'static str>,
    pub birth_year_max: Option<i64>,
    pub birth_year_min: Option<i64>,
    pub source: Option<Source>,
    pub car: Option<i64>,
    pub test_drive: Option<bool>,
    pub bought: Option<bool>,
    /// First visit between these local days (inclusive), read at the
    /// searched branch's offset.
    pub first_from_day: Option<i64>,
    pub first_to_day: Option<i64>,
    pub order_by: &'static str,
    pub page: i64,
    pub page_size: i64,
}

/// Sort keys and the ORDER BY each stands for; `-` means descending.
const SORTS: [(&str, &str); 10] = [
    ("name", "c.full_name ASC, c.id ASC"),
    ("-name", "c.full_name DESC, c.id DESC"),
    ("last_visit", "c.last_visit_at ASC, c.id ASC"),
    ("-last_visit", "c.last_visit_at DESC, c.id DESC"),
    ("first_visit", "c.first_visit_at ASC, c.id ASC"),
    ("-first_visit", "c.first_visit_at DESC, c.id DESC"),
    ("visits", "c.visit_count ASC, c.id ASC"),
    ("-visits", "c.visit_count DESC, c.id DESC"),
    ("age", "c.birth_year DESC, c.id ASC"),
    ("-age", "c.birth_year ASC, c.id ASC"),
];

/// An optional whole number within `range`, as typed in a query.
pub(crate) fn int(
    field: &str,
    value: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let n: i64 = value
        .parse()
        .map_err(|_| AppError::invalid(field, InvalidCode::BadFormat))?;
    if !range.contains(&n) {
        return Err(AppError::invalid(field, InvalidCode::OutOfRange));
    }
    Ok(Some(n))
}

/// A range typed backwards ("age 40 to 25", "May to April") means the same
/// range read forwards: nobody asks for an empty one on purpose.
pub(crate) fn forwards(lo: Option<i64>, hi: Option<i64>) -> (Option<i64>, Option<i64>) {
    match (lo, hi) {
        (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
        range => range,
    }
}

fn flag(field: &str, value: &str) -> Result<Option<bool>, AppError> {
    match value.trim() {
        "" => Ok(None),
        "1" | "true" | "yes" => Ok(Some(true)),
        "0" | "false" | "no" => Ok(Some(false)),
        _ => Err(AppError::invalid(field, InvalidCode::BadFormat)),
    }
}

/// Checks every field of `query`; `now` gives the year ages count from.
pub fn validate(query: &ClientQuery, now: i64) -> Result<Search, AppError> {
    // Control characters (a NUL above all) are never part of a name or phone.
    if query.q.chars().any(char::is_control) {
        return Err(AppError::invalid("q", InvalidCode::BadFormat));
    }
    if query.q.chars().count() > SEARCH_MAX {
        return Err(AppError::invalid("q", InvalidCode::TooLong));
    }
    let gender = match query.gender.trim() {
        "" => None,
        "male" => Some("male"),
        "female" => Some("female"),
        _ => return Err(AppError::invalid("gender", InvalidCode::UnknownValue)),
    };
    let (age_min, age_max) = forwards(
        int("age_min", &query.age_min, 0..=150)?,
        int("age_max", &query.age_max, 0..=150)?,
    );
    let year = current_year(now);
    let source = match query.source.trim() {
        "" => None,
        s => Some(
            Source::parse(s)
                .ok_or_else(|| AppError::invalid("source", InvalidCode::UnknownValue))?,
        ),
    };
    let day = |field: &str, value: &str| -> Result<Option<i64>, AppError> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        crate::infra::time::parse_date(value)
            .map(Some)
            .ok_or_else(|| AppError::invalid(field, InvalidCode::BadFormat))
    };
    let (from, to) = forwards(day("from", &query.from)?, day("to", &query.to)?);
    let sort = query.sort.trim();
    let order_by = if sort.is_empty() {
        "c.last_visit_at DESC, c.id DESC"
    } else {
        SORTS
            .iter()
            .find(|(key, _)| *key == sort)
            .map(|(_, order)| *order)
            .ok_or_else(|| AppError::invalid("sort", InvalidCode::UnknownValue))?
    };
    let page_size = int(
        "page_size",
        &query.page_size,
        1..=crate::clients::MAX_PAGE_SIZE,
    )?
    .unwrap_or(crate::clients::PAGE_SIZE);
    let page = int("page", &query.page, 1..=1_000_000)?.unwrap_or(1);
    Ok(Search {
        pattern: pattern(&query.q),
        needle: needle(&query.q),
        branch: int("branch", &query.branch, 1..=i64::MAX)?,
        gender,
        birth_year_max: age_min.map(|a| year - a),
        birth_year_min: age_max.map(|a| year - a - 1),
        source,
        car: int("car", &query.car, 1..=i64::MAX)?,
        test_drive: flag("test_drive", &query.test_drive)?,
        bought: flag("bought", &query.bought)?,
        first_from_day: from,
        first_to_day: to,
        order_by,
        page,
        page_size,
    })
}
