//! Sales: the outcome the purchase model learns from.

use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::now;

/// Records a sale of `car_model_id` to `client_id`, tied to their open or
/// latest visit. Price in UZS.
pub async fn record(
    db: &Db,
    actor: i64,
    client_id: i64,
    car_model_id: i64,
    price: &str,
    contract_document_id: Option<i64>,
    submission: &str,
) -> Result<i64, AppError> {
    let price = parse_price(price)?;
    let submission = parse_submission(submission)?;
    let mut tx = db.begin_write().await?;
    if let Some(submission) = &submission {
        // The same form sent twice: the sale it already recorded.
        let earlier: Option<(i64, i64)> = crate::db_run!(tx, |c| sqlx::query_as(
            "SELECT id, client_id FROM sales WHERE submission_id = $1"
        )
        .bind(submission)
        .fetch_optional(c)
        .await)?;
        if let Some((id, client)) = earlier {
            if client != client_id {
                return Err(AppError::invalid("submission", InvalidCode::UnknownValue));
            }
            return Ok(id);
        }
    }
    let branch: Option<i64> = crate::db_run!(tx, |c| sqlx::query_scalar(
        "SELECT branch_id FROM clients WHERE id = $1 AND erased_at IS NULL"
    )
    .bind(client_id)
    .fetch_optional(c)
    .await)?;
    let branch = branch.ok_or(AppError::NotFound)?;
    check_car(tx.backend(), car_model_id).await?;
    if let Some(document) = contract_document_id {
        // The contract must be one of this client's own documents.
        let own: Option<i64> = crate::db_run!(tx, |c| sqlx::query_scalar(
            "SELECT id FROM documents WHERE id = $1 AND client_id = $2"
        )
        .bind(document)
        .bind(client_id)
        .fetch_optional(c)
        .await)?;
        own.ok_or_else(|| AppError::invalid("contract", InvalidCode::UnknownValue))?;
    }
    let visit: Option<(i64, i64)> = crate::db_run!(tx, |c| {
        sqlx::query_as(
        "SELECT id, branch_id FROM visits WHERE client_id = $1 ORDER BY (left_at IS NULL) DESC, entered_at DESC LIMIT 1",
    )
    .bind(client_id)
    .fetch_optional(c).await
    })?;
    let t = now();
    let id: i64 = crate::db_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO sales (client_id, visit_id, branch_id, car_model_id, price, sold_at, staff_id, created_at, \
         contract_document_id, submission_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(client_id)
    .bind(visit.map(|v| v.0))
    .bind(visit.map(|v| v.1).unwrap_or(branch))
    .bind(car_model_id)
    .bind(price)
    .bind(t)
    .bind(actor)
    .bind(t)
    .bind(contract_document_id)
    .bind(submission)
    .fetch_one(c).await
    })?;
    audit::record(
        tx.backend(),
        Some(actor),
        "record_sale",
        "client",
        Some(client_id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A price in UZS as typed ("250 000 000", "250,000,000"), within reason.
fn parse_price(price: &str) -> Result<i64, AppError> {
    let price: i64 = price
        .trim()
        .replace([' ', ',', '\u{a0}'], "")
        .parse()
        .map_err(|_| AppError::invalid("price", InvalidCode::BadFormat))?;
    if !(1_000_000..=100_000_000_000).contains(&price) {
        return Err(AppError::invalid("price", InvalidCode::OutOfRange));
    }
    Ok(price)
}

/// The form's submission id: empty (a script that does not send one) or a UUID.
fn parse_submission(submission: &str) -> Result<Option<String>, AppError> {
    match submission.trim() {
        "" => Ok(None),
        s => uuid::Uuid::parse_str(s)
            .map(|u| Some(u.to_string()))
            .map_err(|_| AppError::invalid("submission", InvalidCode::BadFormat)),
    }
}

async fn check_car(
    mut conn: crate::infra::db::Conn<'_>,
    car_model_id: i64,
) -> Result<(), AppError> {
    let car: Option<i64> = crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT id FROM car_models WHERE id = $1"
    )
    .bind(car_model_id)
    .fetch_optional(c)
    .await)?;
    car.map(|_| ())
        .ok_or_else(|| AppError::invalid("car", InvalidCode::UnknownValue))
}

/// The sale as it stood, for the audit log of a correction or cancellation.
async fn sale_of(
    mut conn: crate::infra::db::Conn<'_>,
    client_id: i64,
    sale_id: i64,
) -> Result<(Option<i64>, i64, i64), AppError> {
    let sale: Option<(Option<i64>, i64, i64)> = crate::db_run!(conn, |c| sqlx::query_as(
        "SELECT car_model_id, price, sold_at FROM sales WHERE id = $1 AND client_id = $2",
    )
    .bind(sale_id)
    .bind(client_id)
    .fetch_optional(c)
    .await)?;
    sale.ok_or(AppError::NotFound)
}

/// Corrects a sale's car and price (a typing mistake); the log keeps both.
pub async fn correct(
    db: &Db,
    actor: i64,
    client_id: i64,
    sale_id: i64,
    car_model_id: i64,
    price: &str,
) -> Result<(), AppError> {
    let price = parse_price(price)?;
    let mut tx = db.begin_write().await?;
    let (old_car, old_price, _) = sale_of(tx.backend(), client_id, sale_id).await?;
    check_car(tx.backend(), car_model_id).await?;
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE sales SET car_model_id = $1, price = $2 WHERE id = $3"
    )
    .bind(car_model_id)
    .bind(price)
    .bind(sale_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let detail = serde_json::json!({
        "sale": sale_id,
        "car": [old_car, car_model_id],
        "price": [old_price, price],
    })
    .to_string();
    audit::record(
        tx.backend(),
        Some(actor),
        "correct_sale",
        "client",
        Some(client_id),
        Some(&detail),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Cancels a sale recorded by mistake or undone: it leaves the statistics
/// and the client counts as not having bought (unless another sale stands);
/// the log keeps what it was.
pub async fn cancel(db: &Db, actor: i64, client_id: i64, sale_id: i64) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let (car, price, sold_at) = sale_of(tx.backend(), client_id, sale_id).await?;
    crate::db_run!(tx, |c| sqlx::query("DELETE FROM sales WHERE id = $1")
        .bind(sale_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let detail = serde_json::json!({
        "sale": sale_id,
        "car": car,
        "price": price,
        "sold_at": sold_at,
    })
    .to_string();
    audit::record(
        tx.backend(),
        Some(actor),
        "cancel_sale",
        "client",
        Some(client_id),
        Some(&detail),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
