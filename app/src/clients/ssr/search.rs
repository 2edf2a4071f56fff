//! What a client search may ask for, checked: the text it searches and the
//! query fields.

use super::*;
use crate::clients::ClientQuery;
use crate::error::{AppError, InvalidCode};
use crate::vocab::Source;

pub const SEARCH_MAX: usize = 100;

/// Bumped whenever `fold` changes: start-up refolds every stored
/// `search_text` whose version is older (see `refold_search_texts`).
pub const FOLD_VERSION: i64 = 2;

/// What `search_text` holds for a client: the folded name and the phone's digits.
pub fn search_text(full_name: &str, phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!("{} {}", fold(full_name), digits)
}

/// A name reduced to the form searches compare, so that the ways people
/// write one name meet: lower case; Cyrillic read as Uzbek Latin
/// (`Йўлдошев` and `Yo‘ldoshev` both become `yoldoshev`); every kind of
/// apostrophe dropped (oʻ, o‘, o', o` are one letter to the person typing);
/// `ё` as `е`, as Russians type it (`Фёдоров` = `Федоров`), except where
/// Uzbek reads it `yo` (word start, after a vowel); `h`, `kh` and `х` as `x`
/// (Xurshid = Hurshid = Хуршид, Khasanov = Xasanov), `zh` as `j`, `ye` as
/// `e` (Jo‘rayev = Жўраев, Yelena = Елена); hyphens as spaces.
pub fn fold(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut previous: Option<char> = None;
    for c in lower.chars() {
        let after_vowel =
            previous.is_none_or(|p| !p.is_alphabetic() || "аеёиоуэюяўaeiou".contains(p));
        previous = Some(c);
        let latin: &str = match c {
            '\'' | '`' | '´' | 'ʻ' | 'ʼ' | '‘' | '’' | 'ʹ' | 'ъ' | 'ь' => "",
            '-' | '‐' | '–' => " ",
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' | 'ғ' | 'ğ' => "g",
            'д' => "d",
            'е' | 'э' | 'є' => "e",
            'ё' if after_vowel => "yo",
            'ё' => "e",
            'ж' => "j",
            'з' => "z",
            'и' | 'ы' | 'і' => "i",
            'й' => "y",
            'к' => "k",
            'қ' => "q",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' | 'ў' | 'ö' | 'ó' | 'ò' | 'ő' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' | 'ü' => "u",
            'ф' => "f",
            'х' | 'ҳ' => "x",
            'ц' => "ts",
            'ч' | 'ç' => "ch",
            'ш' | 'щ' | 'ş' => "sh",
            'ю' => "yu",
            'я' => "ya",
            // Latin h: part of sh and ch; kh and zh are how Russian
            // passports spell х and ж; elsewhere Uzbek writes h or x alike.
            'h' if out.ends_with(['s', 'c']) => "h",
            'h' if out.ends_with('k') => {
                out.pop();
                "x"
            }
            'h' if out.ends_with('z') => {
                out.pop();
                "j"
            }
            'h' => "x",
            _ => {
                if c == 'e' && out.ends_with('y') {
                    out.pop();
                }
                out.push(c);
                continue;
            }
        };
        // Uzbek Latin writes "ye" where Cyrillic has е after a vowel
        // (Jo‘rayev, Жўраев), Russian passports mostly "e": one form.
        if latin == "e" && out.ends_with('y') {
            out.pop();
        }
        out.push_str(latin);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The words a typed query must all find, in any order: a phone typed with
/// or without +998, spaces or dashes is one word of its digits; anything else
/// is folded like the stored names.
pub fn words(q: &str) -> Vec<String> {
    let q = q.trim();
    let looks_like_phone = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if looks_like_phone {
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        return if digits.is_empty() {
            vec![]
        } else {
            vec![digits]
        };
    }
    let mut words: Vec<String> = fold(q).split(' ').map(str::to_string).collect();
    words.retain(|w| !w.is_empty());
    words.dedup();
    words
}

/// The LIKE pattern of one searched word.
pub fn like_pattern(word: &str) -> String {
    let escaped: String = word
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// A validated client query.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The folded words the client's `search_text` must all contain.
    pub words: Vec<String>,
    pub branch: Option<i64>,
    /// Reception's branch: its own clients and those visiting it now.
    pub served_at: Option<i64>,
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

/// Sort keys and the ORDER BY each stands for; `-` means descending. Where NULLs go is said
/// out loud (SQLite's own order, which PostgreSQL reverses: never-visited clients must not top
/// a "latest visit" list); SQLite still reads these orders straight off its indexes.
const SORTS: [(&str, &str); 10] = [
    ("name", "c.full_name ASC NULLS FIRST, c.id ASC"),
    ("-name", "c.full_name DESC NULLS LAST, c.id DESC"),
    ("last_visit", "c.last_visit_at ASC NULLS FIRST, c.id ASC"),
    ("-last_visit", LATEST_VISIT_FIRST),
    ("first_visit", "c.first_visit_at ASC NULLS FIRST, c.id ASC"),
    (
        "-first_visit",
        "c.first_visit_at DESC NULLS LAST, c.id DESC",
    ),
    ("visits", "c.visit_count ASC, c.id ASC"),
    ("-visits", "c.visit_count DESC, c.id DESC"),
    ("age", "c.birth_year DESC NULLS LAST, c.id ASC"),
    ("-age", "c.birth_year ASC NULLS FIRST, c.id ASC"),
];

/// The list's default order.
const LATEST_VISIT_FIRST: &str = "c.last_visit_at DESC NULLS LAST, c.id DESC";

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
        LATEST_VISIT_FIRST
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
        words: words(&query.q),
        branch: int("branch", &query.branch, 1..=i64::MAX)?,
        served_at: None,
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
