//! SQL for clients: search and the text it searches.

use super::Db;
use crate::clients::{ClientPage, ClientRow};
use crate::error::{AppError, InvalidCode};

pub const SEARCH_MAX: usize = 100;

/// What `search_text` holds for a client: the lower-cased name and the phone's digits.
pub fn search_text(full_name: &str, phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!("{} {}", full_name.to_lowercase(), digits)
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

pub async fn search(
    db: &Db,
    q: &str,
    branch_id: Option<i64>,
    page: i64,
    page_size: i64,
) -> Result<ClientPage, AppError> {
    if q.chars().count() > SEARCH_MAX {
        return Err(AppError::invalid("q", InvalidCode::TooLong));
    }
    if page < 1 || page > 1_000_000 {
        return Err(AppError::invalid("page", InvalidCode::OutOfRange));
    }
    let pattern = pattern(q);
    let filter = "c.erased_at IS NULL AND (? IS NULL OR c.search_text LIKE ? ESCAPE '\\') \
                  AND (? IS NULL OR c.branch_id = ?)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM clients c WHERE {filter}"))
        .bind(&pattern)
        .bind(&pattern)
        .bind(branch_id)
        .bind(branch_id)
        .fetch_one(db.pool())
        .await?;
    type Row = (
        i64,
        Option<String>,
        Option<String>,
        String,
        i64,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT c.id, c.full_name, c.phone, b.name, c.visit_count, c.last_visit_at, \
                m.brand || ' ' || m.name \
         FROM clients c JOIN branches b ON b.id = c.branch_id \
         LEFT JOIN car_models m ON m.id = c.car_model_id \
         WHERE {filter} ORDER BY c.last_visit_at DESC, c.id DESC LIMIT ? OFFSET ?"
    ))
    .bind(&pattern)
    .bind(&pattern)
    .bind(branch_id)
    .bind(branch_id)
    .bind(page_size)
    .bind((page - 1) * page_size)
    .fetch_all(db.pool())
    .await?;
    Ok(ClientPage {
        items: rows
            .into_iter()
            .map(
                |(id, full_name, phone, branch, visit_count, last_visit_at, car)| ClientRow {
                    id,
                    full_name,
                    phone,
                    branch,
                    visit_count,
                    last_visit_at,
                    car,
                },
            )
            .collect(),
        total,
        page,
        page_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_fragments_become_digits() {
        assert_eq!(pattern("+998 90-123").as_deref(), Some("%99890123%"));
        assert_eq!(pattern("Aziz").as_deref(), Some("%aziz%"));
        assert_eq!(pattern("Ал").as_deref(), Some("%ал%"));
        assert_eq!(pattern("50%_").as_deref(), Some("%50\\%\\_%"));
        assert_eq!(pattern("  "), None);
        assert_eq!(
            search_text("Aziz Karimov", "+998901234567"),
            "aziz karimov 998901234567"
        );
    }
}
