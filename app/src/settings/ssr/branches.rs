//! SQL and rules for branches (showrooms).

use crate::error::{AppError, ConflictCode, InvalidCode, limits, required_text};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::db::OnUnique;
use crate::infra::now;
use crate::infra::time as time_zones;
use crate::settings::{Branch, BranchForm};

pub async fn list(db: &Db) -> Result<Vec<Branch>, AppError> {
    Ok(crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT id, name, city, time_zone, opens_at, closes_at, biometrics_enabled FROM branches ORDER BY id",
    )
    .fetch_all(c).await
    })?)
}

/// Minutes east of UTC at `branch`; for the whole network (`None`), at the
/// first branch, whose days the network's figures are counted in. An unknown
/// branch is refused.
pub async fn offset_minutes(db: &Db, branch: Option<i64>) -> Result<i32, AppError> {
    match branch {
        Some(id) => crate::db_run!(db, |c| sqlx::query_scalar(
            "SELECT utc_offset_minutes FROM branches WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(c)
        .await)?
        .ok_or(AppError::NotFound),
        None => Ok(crate::db_run!(db, |c| sqlx::query_scalar(
            "SELECT utc_offset_minutes FROM branches ORDER BY id LIMIT 1",
        )
        .fetch_optional(c)
        .await)?
        .unwrap_or(time_zones::DEFAULT_OFFSET_MINUTES)),
    }
}

pub async fn set_biometrics(db: &Db, actor: i64, id: i64, enabled: bool) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let updated = crate::db_run!(tx, |c| sqlx::query(
        "UPDATE branches SET biometrics_enabled = $1 WHERE id = $2"
    )
    .bind(enabled)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    let detail = if enabled { "on" } else { "off" };
    audit::record(
        tx.backend(),
        Some(actor),
        "biometrics",
        "branch",
        Some(id),
        Some(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Minutes since midnight for "HH:MM".
pub fn parse_hhmm(value: &str) -> Option<u32> {
    let (h, m) = value.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

pub fn validate(form: &BranchForm) -> Result<BranchForm, AppError> {
    let name = required_text("name", &form.name, limits::NAME_MAX)?;
    let city = required_text("city", &form.city, limits::CITY_MAX)?;
    if time_zones::offset_minutes(&form.time_zone).is_none() {
        return Err(AppError::invalid("time_zone", InvalidCode::UnknownValue));
    }
    let opens = parse_hhmm(&form.opens_at)
        .ok_or_else(|| AppError::invalid("opens_at", InvalidCode::BadFormat))?;
    let closes = parse_hhmm(&form.closes_at)
        .ok_or_else(|| AppError::invalid("closes_at", InvalidCode::BadFormat))?;
    if closes <= opens {
        return Err(AppError::invalid("closes_at", InvalidCode::OutOfRange));
    }
    Ok(BranchForm {
        id: form.id,
        name,
        city,
        time_zone: form.time_zone.clone(),
        opens_at: form.opens_at.trim().to_string(),
        closes_at: form.closes_at.trim().to_string(),
    })
}

/// Creates (no id) or updates a branch; returns its id.
pub async fn save(db: &Db, actor: i64, form: &BranchForm) -> Result<i64, AppError> {
    let form = validate(form)?;
    let offset =
        time_zones::offset_minutes(&form.time_zone).unwrap_or(time_zones::DEFAULT_OFFSET_MINUTES);
    let mut tx = db.begin_write().await?;
    let id = match form.id {
        Some(id) => {
            let updated = crate::db_run!(tx, |c| sqlx::query(
                "UPDATE branches SET name = $1, city = $2, time_zone = $3, utc_offset_minutes = $4, opens_at = $5, closes_at = $6 WHERE id = $7",
            )
            .bind(&form.name)
            .bind(&form.city)
            .bind(&form.time_zone)
            .bind(offset)
            .bind(&form.opens_at)
            .bind(&form.closes_at)
            .bind(id)
            .execute(c).await.map(|r| r.rows_affected()))
            .on_unique("branches.name", ConflictCode::BranchNameTaken)?;
            if updated == 0 {
                return Err(AppError::NotFound);
            }
            id
        }
        None => {
            crate::db_run!(tx, |c| sqlx::query_scalar(
                "INSERT INTO branches (name, city, time_zone, utc_offset_minutes, opens_at, closes_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(&form.name)
            .bind(&form.city)
            .bind(&form.time_zone)
            .bind(offset)
            .bind(&form.opens_at)
            .bind(&form.closes_at)
            .bind(now())
            .fetch_one(c).await)
            .on_unique("branches.name", ConflictCode::BranchNameTaken)?
        }
    };
    let action = if form.id.is_some() {
        "update"
    } else {
        "create"
    };
    audit::record(
        tx.backend(),
        Some(actor),
        action,
        "branch",
        Some(id),
        Some(&form.name),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A branch's name (for the kiosk's header).
pub async fn name(db: &Db, id: i64) -> Result<String, AppError> {
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT name FROM branches WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, opens: &str, closes: &str) -> BranchForm {
        BranchForm {
            id: None,
            name: name.into(),
            city: "Toshkent".into(),
            time_zone: "Asia/Tashkent".into(),
            opens_at: opens.into(),
            closes_at: closes.into(),
        }
    }

    #[test]
    fn hours_are_checked() {
        assert_eq!(parse_hhmm("09:30"), Some(570));
        assert_eq!(parse_hhmm("24:00"), None);
        assert_eq!(parse_hhmm("9:30"), None);
        assert!(validate(&form("A", "09:00", "20:00")).is_ok());
        assert_eq!(
            validate(&form("A", "20:00", "09:00")),
            Err(AppError::invalid("closes_at", InvalidCode::OutOfRange))
        );
        assert_eq!(
            validate(&form("A", "nine", "20:00")),
            Err(AppError::invalid("opens_at", InvalidCode::BadFormat))
        );
        let mut bad_zone = form("A", "09:00", "20:00");
        bad_zone.time_zone = "Mars/Base".into();
        assert!(validate(&bad_zone).is_err());
    }

    #[tokio::test]
    async fn names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        let id = save(&db, 0, &form("Chilonzor", "09:00", "20:00")).await;
        // Actor 0 does not exist: the audit row's foreign key refuses it.
        assert!(id.is_err());
        crate::settings::ssr::staff::ensure_admin(&db, Some("s3cret-pass".into()))
            .await
            .unwrap();
        let id = save(&db, 1, &form("Chilonzor", "09:00", "20:00"))
            .await
            .unwrap();
        assert_eq!(
            save(&db, 1, &form("Chilonzor", "10:00", "19:00")).await,
            Err(AppError::Conflict {
                code: ConflictCode::BranchNameTaken
            })
        );
        let mut edit = form("Chilonzor", "10:00", "19:00");
        edit.id = Some(id);
        assert_eq!(save(&db, 1, &edit).await.unwrap(), id);
        assert_eq!(list(&db).await.unwrap()[0].opens_at, "10:00");
    }
}
