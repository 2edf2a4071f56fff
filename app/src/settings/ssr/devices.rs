//! Kiosk and camera devices: created by an admin with a one-time pairing code,
//! paired once for a long-lived device token (stored hashed), revocable.

use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::now;
use crate::infra::tokens;
use crate::settings::DeviceRow;

/// How long a pairing code stays usable.
pub const PAIRING_VALID_SECS: i64 = 24 * 3600;
/// Pairing codes avoid letters and digits that look alike (0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LENGTH: usize = 8;

/// A paired device, as its token identifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: i64,
    pub branch_id: i64,
    pub kind: String,
    /// A camera's place: `entrance` or `exit` (kiosks have none).
    pub camera_role: Option<String>,
}

/// A one-time code in the pairing alphabet (also the Telegram link code).
pub fn new_code() -> String {
    new_pairing_code()
}

fn new_pairing_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..CODE_LENGTH)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// A pairing code as typed: upper case, no spaces or dashes.
pub fn normalize_code(code: &str) -> Option<String> {
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LENGTH && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// Creates a device and returns its id and one-time pairing code.
pub async fn create(
    db: &Db,
    actor: i64,
    branch_id: i64,
    kind: &str,
    camera_role: Option<&str>,
    name: &str,
) -> Result<(i64, String), AppError> {
    let name = crate::error::required_text("name", name, 80)?;
    if !matches!(kind, "kiosk" | "camera") {
        return Err(AppError::invalid("kind", InvalidCode::UnknownValue));
    }
    let camera_role = match (kind, camera_role) {
        ("camera", Some(role @ ("entrance" | "exit"))) => Some(role),
        ("camera", _) => return Err(AppError::invalid("camera_role", InvalidCode::Required)),
        _ => None,
    };
    let code = new_pairing_code();
    let t = now();
    let mut tx = db.begin_write().await?;
    crate::visits::ssr::ensure_branch(tx.backend(), branch_id).await?;
    let id: i64 = crate::db_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO devices (branch_id, kind, camera_role, name, pairing_code_hash, pairing_expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(branch_id)
    .bind(kind)
    .bind(camera_role)
    .bind(&name)
    .bind(tokens::sha256_hex(code.as_bytes()))
    .bind(t + PAIRING_VALID_SECS)
    .bind(t)
    .fetch_one(c).await
    })?;
    audit::record(
        tx.backend(),
        Some(actor),
        "create",
        "device",
        Some(id),
        Some(kind),
    )
    .await?;
    tx.commit().await?;
    Ok((id, code))
}

/// Exchanges a pairing code for a device token; the code works once.
pub async fn pair(db: &Db, code: &str, kind: &str) -> Result<(Device, String), AppError> {
    let code = normalize_code(code).ok_or(AppError::invalid("code", InvalidCode::BadFormat))?;
    let token = format!("kd_{}", tokens::new_secret());
    let t = now();
    // A wrong code is answered from a read: guessing never takes the write lock.
    let hash = tokens::sha256_hex(code.as_bytes());
    let exists: Option<i64> = crate::db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT id FROM devices WHERE pairing_code_hash = $1 AND kind = $2 AND revoked_at IS NULL",
    )
    .bind(&hash)
    .bind(kind)
    .fetch_optional(c).await
    })?;
    if exists.is_none() {
        return Err(AppError::invalid("code", InvalidCode::UnknownValue));
    }
    let mut tx = db.begin_write().await?;
    let found: Option<(i64, i64, String, Option<String>)> = crate::db_run!(tx, |c| {
        sqlx::query_as(
        "SELECT id, branch_id, kind, camera_role FROM devices WHERE pairing_code_hash = $1 AND kind = $2 \
         AND revoked_at IS NULL AND pairing_expires_at > $3",
    )
    .bind(tokens::sha256_hex(code.as_bytes()))
    .bind(kind)
    .bind(t)
    .fetch_optional(c).await
    })?;
    let (id, branch_id, kind, camera_role) =
        found.ok_or(AppError::invalid("code", InvalidCode::UnknownValue))?;
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE devices SET token_hash = $1, pairing_code_hash = NULL, pairing_expires_at = NULL, \
         last_seen_at = $2 WHERE id = $3",
    )
    .bind(tokens::sha256_hex(token.as_bytes()))
    .bind(t)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(tx.backend(), None, "pair", "device", Some(id), None).await?;
    tx.commit().await?;
    Ok((
        Device {
            id,
            branch_id,
            kind,
            camera_role,
        },
        token,
    ))
}

/// The device a token belongs to, if it is valid and not revoked. Read from
/// the database every time, so a revocation stops the device at once.
pub async fn for_token(db: &Db, token: &str, kind: &str) -> Result<Option<Device>, AppError> {
    if !token.starts_with("kd_") || token.len() != 67 {
        return Ok(None);
    }
    // (id, branch, kind, camera role, last seen)
    type Row = (i64, i64, String, Option<String>, Option<i64>);
    let found: Option<Row> = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT id, branch_id, kind, camera_role, last_seen_at FROM devices \
         WHERE token_hash = $1 AND kind = $2 AND revoked_at IS NULL",
    )
    .bind(tokens::sha256_hex(token.as_bytes()))
    .bind(kind)
    .fetch_optional(c)
    .await)?;
    let Some((id, branch_id, kind, camera_role, last_seen)) = found else {
        return Ok(None);
    };
    let t = now();
    // "Last seen" to the minute is enough, and saves a write per request.
    if last_seen.is_none_or(|l| t - l > 60) {
        crate::db_run!(db, |c| sqlx::query(
            "UPDATE devices SET last_seen_at = $1 WHERE id = $2"
        )
        .bind(t)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(Some(Device {
        id,
        branch_id,
        kind,
        camera_role,
    }))
}

pub async fn revoke(db: &Db, actor: i64, id: i64) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let updated = crate::db_run!(tx, |c| sqlx::query(
        "UPDATE devices SET revoked_at = $1, token_hash = NULL, pairing_code_hash = NULL \
         WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::revoked(tx.backend(), updated, actor, "device", id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<DeviceRow>, AppError> {
    Ok(crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT d.id, d.name, d.kind, d.camera_role, b.name AS branch, b.utc_offset_minutes AS offset_minutes, \
         d.token_hash IS NOT NULL AS paired, d.pairing_expires_at, d.last_seen_at, d.revoked_at \
         FROM devices d JOIN branches b ON b.id = d.branch_id ORDER BY d.revoked_at IS NOT NULL, d.id DESC",
    )
    .fetch_all(c).await
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_codes_are_typed_loosely_but_checked() {
        let code = new_pairing_code();
        assert_eq!(normalize_code(&code.to_lowercase()), Some(code.clone()));
        assert_eq!(
            normalize_code(&format!("{}-{}", &code[..4], &code[4..])),
            Some(code)
        );
        assert_eq!(normalize_code("ABC"), None);
        assert_eq!(normalize_code("ABCD0EFG"), None, "0 is not in the alphabet");
        assert_eq!(normalize_code("'; DROP TABLE"), None);
    }
}
