//! SQL for clients: creating and editing them, and what the card shows.
//! Searching is in `search` (what may be asked) and `query` (the SQL).

use crate::infra::Db;
use crate::vocab::{ServiceKind, VisitEnd, VisitStart};

use crate::error::{AppError, ConflictCode, InvalidCode};
use crate::infra::db::OnUnique;

mod input;
mod query;
mod search;
pub use input::*;
pub use query::*;
pub use search::*;

async fn check_references(
    mut conn: crate::infra::db::Conn<'_>,
    input: &ClientInput,
) -> Result<(), AppError> {
    if let Some(car) = input.car_model_id {
        let found: Option<i64> = crate::db_run!(conn, |c| sqlx::query_scalar(
            "SELECT id FROM car_models WHERE id = $1"
        )
        .bind(car)
        .fetch_optional(c)
        .await)?;
        if found.is_none() {
            return Err(AppError::invalid("car", InvalidCode::UnknownValue));
        }
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    actor: i64,
    branch_id: i64,
    input: &ClientInput,
) -> Result<i64, AppError> {
    let mut tx = db.begin_write().await?;
    let id = insert_client(tx.backend(), branch_id, input, crate::infra::now()).await?;
    crate::infra::audit::record(
        tx.backend(),
        Some(actor),
        "create",
        "client",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts a validated client inside the caller's write transaction.
pub async fn insert_client(
    mut conn: crate::infra::db::Conn<'_>,
    branch_id: i64,
    input: &ClientInput,
    t: i64,
) -> Result<i64, AppError> {
    check_references(conn.backend(), input).await?;
    crate::visits::ssr::ensure_branch(conn.backend(), branch_id).await?;
    crate::db_run!(conn, |c| sqlx::query_scalar(
        "INSERT INTO clients (branch_id, full_name, phone, birth_year, gender, source, car_model_id, search_text, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(branch_id)
    .bind(&input.full_name)
    .bind(&input.phone)
    .bind(input.birth_year)
    .bind(input.gender)
    .bind(input.source)
    .bind(input.car_model_id)
    .bind(search_text(&input.full_name, &input.phone))
    .bind(t)
    .bind(t)
    .fetch_one(c).await)
    .on_unique("clients.phone", ConflictCode::PhoneTaken)
}

pub async fn update(db: &Db, actor: i64, id: i64, input: &ClientInput) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    check_references(tx.backend(), input).await?;
    let updated = crate::db_run!(tx, |c| sqlx::query(
        "UPDATE clients SET full_name = $1, phone = $2, birth_year = $3, gender = $4, source = $5, car_model_id = $6, \
         search_text = $7, updated_at = $8 WHERE id = $9 AND erased_at IS NULL",
    )
    .bind(&input.full_name)
    .bind(&input.phone)
    .bind(input.birth_year)
    .bind(input.gender)
    .bind(input.source)
    .bind(input.car_model_id)
    .bind(search_text(&input.full_name, &input.phone))
    .bind(crate::infra::now())
    .bind(id)
    .execute(c).await.map(|r| r.rows_affected()))
    .on_unique("clients.phone", ConflictCode::PhoneTaken)?;
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    crate::infra::audit::record(
        tx.backend(),
        Some(actor),
        "update",
        "client",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Staff switch a client's face recognition on (a photo must be on file) or off.
pub async fn set_biometric_opt_in(db: &Db, actor: i64, id: i64, on: bool) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let photo: Option<Option<String>> = crate::db_run!(tx, |c| sqlx::query_scalar(
        "SELECT photo_path FROM clients WHERE id = $1 AND erased_at IS NULL"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let photo = photo.ok_or(AppError::NotFound)?;
    if on && photo.is_none() {
        return Err(AppError::invalid("photo", InvalidCode::Required));
    }
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE clients SET biometric_opt_in = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(on)
    .bind(crate::infra::now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if !on {
        crate::camera::ssr::drop_captures(tx.backend(), id).await?;
    }
    let action = if on {
        "biometrics_on"
    } else {
        "biometrics_off"
    };
    crate::infra::audit::record(tx.backend(), Some(actor), action, "client", Some(id), None)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The branch a client belongs to, for role checks.
pub async fn branch_of(db: &Db, id: i64) -> Result<i64, AppError> {
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT branch_id FROM clients WHERE id = $1 AND erased_at IS NULL"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)
}

/// The one rule for a client, wherever they are asked for: network staff
/// see everyone; reception sees its branch's clients, and a client of
/// another branch while that client has an open visit at its branch (a
/// Tashkent client checked in at the Samarqand kiosk is served there).
pub async fn check_access(
    db: &Db,
    scope: crate::auth::ssr::Scope,
    client_id: i64,
) -> Result<(), AppError> {
    let home = branch_of(db, client_id).await?;
    let Some(own) = scope.branch() else {
        return Ok(());
    };
    if own == home {
        return Ok(());
    }
    let visiting: Option<i64> = crate::db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT id FROM visits WHERE client_id = $1 AND branch_id = $2 AND left_at IS NULL LIMIT 1",
    )
    .bind(client_id)
    .bind(own)
    .fetch_optional(c).await
    })?;
    visiting.map(|_| ()).ok_or(AppError::Forbidden)
}

/// A client's branch (for role checks) and stored photo, if any.
pub async fn branch_and_photo(db: &Db, id: i64) -> Result<(i64, Option<String>), AppError> {
    crate::db_run!(db, |c| sqlx::query_as(
        "SELECT branch_id, photo_path FROM clients WHERE id = $1 AND erased_at IS NULL"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)
}

/// Car models and branches, for the forms.
pub async fn choices(db: &Db) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let cars = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT id, brand || ' ' || name FROM car_models WHERE active = TRUE ORDER BY brand, name",
    )
    .fetch_all(c).await
    })?;
    let branches = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT id, name FROM branches ORDER BY id"
    )
    .fetch_all(c)
    .await)?;
    Ok((cars, branches))
}

/// Everything the client card shows; the view is audit-logged.
pub async fn load_card(
    db: &Db,
    actor: i64,
    id: i64,
) -> Result<crate::clients::card::CardData, AppError> {
    use crate::clients::card::{
        CardData, ClientDetails, DocumentEntry, SaleEntry, ServiceEntry, VisitEntry,
    };
    let client: ClientDetails = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT c.id, c.full_name, c.phone, c.branch_id, b.name AS branch, c.birth_year, c.gender, c.source, \
                c.car_model_id, m.brand || ' ' || m.name AS car, c.consent_at, c.consent_version, c.consent_language, \
                c.biometric_opt_in, c.created_at, c.visit_count, c.photo_path IS NOT NULL AS has_photo \
         FROM clients c JOIN branches b ON b.id = c.branch_id LEFT JOIN car_models m ON m.id = c.car_model_id \
         WHERE c.id = $1 AND c.erased_at IS NULL",
    )
    .bind(id)
    .fetch_optional(c).await)?
    .ok_or(AppError::NotFound)?;
    type VisitRow = (i64, String, i64, Option<i64>, VisitStart, Option<VisitEnd>);
    let visit_rows: Vec<VisitRow> = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT v.id, b.name, v.entered_at, v.left_at, v.started_by, v.ended_by FROM visits v \
         JOIN branches b ON b.id = v.branch_id WHERE v.client_id = $1 ORDER BY v.entered_at DESC, v.id DESC LIMIT 200",
    )
    .bind(id)
    .fetch_all(c).await
    })?;
    type ServiceRow = (i64, ServiceKind, i64, Option<String>, Option<String>);
    let service_rows: Vec<ServiceRow> = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT s.visit_id, s.kind, s.requested_at, st.full_name, s.note FROM service_requests s \
         LEFT JOIN staff st ON st.id = s.staff_id WHERE s.client_id = $1 ORDER BY s.requested_at, s.id",
    )
    .bind(id)
    .fetch_all(c).await
    })?;
    let camera_matches: Vec<(i64, i64, Option<f64>)> = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT visit_id, id, similarity FROM camera_events \
         WHERE client_id = $1 AND kind = 'enter' AND rejected = FALSE AND visit_id IS NOT NULL ORDER BY id",
    )
    .bind(id)
    .fetch_all(c).await
    })?;
    let visits = visit_rows
        .into_iter()
        .map(
            |(vid, branch, entered_at, left_at, started_by, ended_by)| VisitEntry {
                camera_match: camera_matches
                    .iter()
                    .find(|m| m.0 == vid && started_by == VisitStart::Camera)
                    .map(|m| (m.1, m.2)),
                id: vid,
                branch,
                entered_at,
                left_at,
                started_by,
                ended_by,
                services: service_rows
                    .iter()
                    .filter(|s| s.0 == vid)
                    .map(|s| ServiceEntry {
                        kind: s.1,
                        requested_at: s.2,
                        staff: s.3.clone(),
                        note: s.4.clone(),
                    })
                    .collect(),
            },
        )
        .collect();
    let sales: Vec<SaleEntry> = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT s.id, s.car_model_id, m.brand || ' ' || m.name AS car, s.price, s.sold_at, b.name AS branch, s.contract_document_id FROM sales s \
         JOIN branches b ON b.id = s.branch_id LEFT JOIN car_models m ON m.id = s.car_model_id \
         WHERE s.client_id = $1 ORDER BY s.sold_at DESC",
    )
    .bind(id)
    .fetch_all(c).await
    })?;
    let documents: Vec<DocumentEntry> = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT id, kind, file_name, size_bytes, uploaded_at FROM documents WHERE client_id = $1 ORDER BY uploaded_at DESC",
    )
    .bind(id)
    .fetch_all(c).await
    })?;
    let offset_minutes: i32 = crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT utc_offset_minutes FROM branches WHERE id = $1"
    )
    .bind(client.branch_id)
    .fetch_one(c)
    .await)?;
    let (car_models, branches) = choices(db).await?;
    let mut conn = db.acquire().await?;
    crate::infra::audit::record(
        conn.backend(),
        Some(actor),
        "view",
        "client",
        Some(id),
        None,
    )
    .await?;
    Ok(CardData {
        client,
        visits,
        sales,
        documents,
        car_models,
        branches,
        offset_minutes,
        viewer_is_manager: false,
        viewer_is_admin: false,
        viewer_branch: None,
        sale_submission: String::new(),
    })
}

/// Brings every stored `search_text` to the current `fold` after an upgrade
/// changed it (the search index follows by its triggers); a database already
/// at `FOLD_VERSION` is left alone. Returns how many clients changed.
pub async fn refold_search_texts(db: &Db) -> Result<u64, AppError> {
    const KEY: &str = "search_fold_version";
    let done: Option<String> = crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(KEY)
    .fetch_optional(c)
    .await)?;
    if done.and_then(|v| v.parse::<i64>().ok()) >= Some(FOLD_VERSION) {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    let rows: Vec<(i64, String, String, String)> = crate::db_run!(tx, |c| sqlx::query_as(
        "SELECT id, full_name, COALESCE(phone, ''), search_text FROM clients \
         WHERE erased_at IS NULL AND full_name IS NOT NULL",
    )
    .fetch_all(c)
    .await)?;
    let mut changed = 0;
    for (id, name, phone, stored) in rows {
        let text = search_text(&name, &phone);
        if text != stored {
            crate::db_run!(tx, |c| sqlx::query(
                "UPDATE clients SET search_text = $1 WHERE id = $2"
            )
            .bind(text)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            changed += 1;
        }
    }
    crate::db_run!(tx, |c| {
        sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    .bind(KEY)
    .bind(FOLD_VERSION.to_string())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    tx.commit().await?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::ClientQuery;

    #[test]
    fn phones_and_names_are_normalised() {
        assert_eq!(normalize_phone("90 123-45-67").unwrap(), "+998901234567");
        assert_eq!(
            normalize_phone("+998 (90) 123 45 67").unwrap(),
            "+998901234567"
        );
        assert_eq!(normalize_phone("998901234567").unwrap(), "+998901234567");
        assert!(normalize_phone("12345").is_err());
        assert!(normalize_phone("+7 901 234 56 78").is_err());
        assert!(normalize_phone("90 123 45 6x").is_err());
        assert_eq!(validate_name("  Aziz   Karimov ").unwrap(), "Aziz Karimov");
        assert_eq!(
            validate_name("G‘ayrat O‘ktamov").unwrap(),
            "G‘ayrat O‘ktamov"
        );
        assert!(validate_name("Александр Иванов").is_ok());
        assert!(validate_name("R2-D2").is_err());
        assert!(validate_name(&"a".repeat(500)).is_err());
        let now = 1_795_514_400;
        assert_eq!(validate_birth_year("1990", now).unwrap(), Some(1990));
        assert!(validate_birth_year("1800", now).is_err());
        assert!(validate_birth_year("2027", now).is_err());
        assert!(validate_birth_year("nineteen", now).is_err());
    }

    #[test]
    fn queries_are_validated() {
        let now = 1_795_514_400;
        let ok = |q: ClientQuery| validate(&q, now);
        let mut q = ClientQuery::default();
        assert_eq!(ok(q.clone()).unwrap().page_size, 25);
        q.page = "-1".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("page", InvalidCode::OutOfRange))
        );
        q.page = "1".into();
        q.page_size = "1000000".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("page_size", InvalidCode::OutOfRange))
        );
        q.page_size = String::new();
        q.sort = "password_hash".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("sort", InvalidCode::UnknownValue))
        );
        q.sort = "-visits".into();
        q.from = "2026-05-01".into();
        q.to = "2026-04-01".into();
        let backwards = ok(q.clone()).unwrap();
        assert!(backwards.first_from_day < backwards.first_to_day);
        assert_eq!(
            backwards.first_from_day,
            crate::infra::time::parse_date("2026-04-01")
        );
        q.to = "2026-13-01".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("to", InvalidCode::BadFormat))
        );
        q.to = String::new();
        q.age_min = "40".into();
        q.age_max = "30".into();
        let backwards = ok(q.clone()).unwrap();
        q.age_min = "30".into();
        q.age_max = "40".into();
        assert_eq!(ok(q.clone()).unwrap(), backwards);
        q.age_min = "40".into();
        q.age_max = "50".into();
        let s = ok(q.clone()).unwrap();
        assert_eq!(
            (s.birth_year_min, s.birth_year_max),
            (Some(1975), Some(1986))
        );
        q.q = "x".repeat(101);
        assert_eq!(ok(q), Err(AppError::invalid("q", InvalidCode::TooLong)));
    }

    #[test]
    fn phone_fragments_become_digits() {
        assert_eq!(words("+998 90-123"), vec!["99890123"]);
        assert_eq!(words("Aziz"), vec!["aziz"]);
        assert_eq!(words("  "), Vec::<String>::new());
        assert_eq!(like_pattern("50%_"), "%50\\%\\_%");
        assert_eq!(
            search_text("Aziz Karimov", "+998901234567"),
            "aziz karimov 998901234567"
        );
    }

    #[test]
    fn the_ways_one_name_is_written_fold_alike() {
        let same = [
            ["Yo‘ldoshev", "Yo'ldoshev", "Йўлдошев"],
            ["Фёдоров", "Федоров", "Fedorov"],
            ["Xurshid", "Hurshid", "Хуршид"],
            ["Khasanov", "Xasanov", "Хасанов"],
            ["G‘ulomov", "Gʻulomov", "Ғуломов"],
            ["Shahzod", "Шаҳзод", "SHAHZOD"],
            ["Ёқубов", "Yoqubov", "Yo`qubov"],
            ["Zhanna", "Жанна", "Janna"],
            ["Чориев", "Choriev", "CHORIEV"],
            ["Жўраев", "Jo‘rayev", "Jo'raev"],
            ["Елена", "Yelena", "Elena"],
        ];
        for forms in same {
            let reference = fold(forms[0]);
            for form in forms {
                assert_eq!(fold(form), reference, "{form} vs {}", forms[0]);
            }
        }
        assert_ne!(fold("Aziz"), fold("Anvar"));
        assert_eq!(fold("Abdul-Aziz  Karimov"), "abdul aziz karimov");
    }

    #[test]
    fn words_match_in_any_order() {
        assert_eq!(words("Umarov Aziz"), vec!["umarov", "aziz"]);
        let stored = search_text("Aziz Umarov", "+998901234567");
        assert!(
            words("Umarov  Aziz")
                .iter()
                .all(|w| stored.contains(w.as_str()))
        );
    }
}
