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
) -> Result<i64, AppError> {
    let price: i64 = price
        .trim()
        .replace([' ', ','], "")
        .parse()
        .map_err(|_| AppError::invalid("price", InvalidCode::BadFormat))?;
    if !(1_000_000..=100_000_000_000).contains(&price) {
        return Err(AppError::invalid("price", InvalidCode::OutOfRange));
    }
    let mut tx = db.begin_write().await?;
    let branch: Option<i64> =
        sqlx::query_scalar("SELECT branch_id FROM clients WHERE id = ? AND erased_at IS NULL")
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await?;
    let branch = branch.ok_or(AppError::NotFound)?;
    let car: Option<i64> = sqlx::query_scalar("SELECT id FROM car_models WHERE id = ?")
        .bind(car_model_id)
        .fetch_optional(&mut *tx)
        .await?;
    car.ok_or_else(|| AppError::invalid("car", InvalidCode::UnknownValue))?;
    if let Some(document) = contract_document_id {
        // The contract must be one of this client's own documents.
        let own: Option<i64> =
            sqlx::query_scalar("SELECT id FROM documents WHERE id = ? AND client_id = ?")
                .bind(document)
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await?;
        own.ok_or_else(|| AppError::invalid("contract", InvalidCode::UnknownValue))?;
    }
    let visit: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, branch_id FROM visits WHERE client_id = ? ORDER BY (left_at IS NULL) DESC, entered_at DESC LIMIT 1",
    )
    .bind(client_id)
    .fetch_optional(&mut *tx)
    .await?;
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sales (client_id, visit_id, branch_id, car_model_id, price, sold_at, staff_id, created_at, \
         contract_document_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
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
