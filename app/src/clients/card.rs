//! The client card: details and consent, visits with their services, sales,
//! documents; and what staff do from it (check in, add a service, close the
//! visit, edit, record a sale).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::vocab::{DocumentKind, ServiceKind, Source, VisitEnd, VisitStart};

/// A client's details as the edit and add forms send them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientForm {
    pub full_name: String,
    pub phone: String,
    #[serde(default)]
    pub birth_year: String,
    #[serde(default)]
    pub gender: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub car: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ClientDetails {
    pub id: i64,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub branch_id: i64,
    pub branch: String,
    pub birth_year: Option<i64>,
    pub gender: Option<String>,
    pub source: Source,
    pub car_model_id: Option<i64>,
    pub car: Option<String>,
    pub consent_at: Option<i64>,
    pub consent_version: Option<i64>,
    pub consent_language: Option<String>,
    pub biometric_opt_in: bool,
    pub created_at: i64,
    pub visit_count: i64,
    pub has_photo: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub kind: ServiceKind,
    pub requested_at: i64,
    pub staff: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitEntry {
    pub id: i64,
    pub branch: String,
    pub entered_at: i64,
    pub left_at: Option<i64>,
    pub started_by: VisitStart,
    pub ended_by: Option<VisitEnd>,
    pub services: Vec<ServiceEntry>,
    /// The entrance camera's match that put this visit on the card:
    /// (event id, similarity), for "not this person".
    pub camera_match: Option<(i64, Option<f64>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct SaleEntry {
    pub id: i64,
    pub car_model_id: Option<i64>,
    pub car: Option<String>,
    pub price: i64,
    pub sold_at: i64,
    pub branch: String,
    pub contract_document_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DocumentEntry {
    pub id: i64,
    pub kind: DocumentKind,
    pub file_name: String,
    pub size_bytes: i64,
    pub uploaded_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardData {
    pub client: ClientDetails,
    pub visits: Vec<VisitEntry>,
    pub sales: Vec<SaleEntry>,
    pub documents: Vec<DocumentEntry>,
    pub car_models: Vec<(i64, String)>,
    pub branches: Vec<(i64, String)>,
    pub offset_minutes: i32,
    /// What the viewer may do: managers download passports and delete
    /// documents, admins erase.
    pub viewer_is_manager: bool,
    pub viewer_is_admin: bool,
    /// The viewer's own branch: where a manager's check-in is booked unless
    /// they choose another.
    pub viewer_branch: Option<i64>,
    /// A fresh id for the sale form: the same form sent twice records one sale.
    pub sale_submission: String,
}

impl CardData {
    pub fn open_visit(&self) -> Option<&VisitEntry> {
        self.visits.iter().find(|v| v.left_at.is_none())
    }
}

/// The choices the add-client form offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormChoices {
    pub car_models: Vec<(i64, String)>,
    pub branches: Vec<(i64, String)>,
    pub own_branch: Option<i64>,
}

/// Admits the caller for `need` on one client (`clients::ssr::check_access`).
#[cfg(feature = "ssr")]
async fn authorize_client(
    client_id: i64,
    need: crate::auth::ssr::Need,
) -> Result<(crate::auth::ssr::Staff, crate::infra::AppState), AppError> {
    let (caller, state) = crate::auth::ssr::require(need).await?;
    crate::clients::ssr::check_access(&state.db, caller.scope, client_id).await?;
    Ok((caller, state))
}

/// Admits any staff caller on one visit: reception only in its branch.
#[cfg(feature = "ssr")]
async fn authorize_visit(
    visit_id: i64,
) -> Result<(crate::auth::ssr::Staff, crate::infra::AppState), AppError> {
    let (caller, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    caller
        .scope
        .check(crate::visits::ssr::branch_of(&state.db, visit_id).await?)?;
    Ok((caller, state))
}

#[server(prefix = "/rpc")]
pub async fn load_client_card(id: i64) -> Result<CardData, AppError> {
    let (user, state) = authorize_client(id, crate::auth::ssr::Need::Staff).await?;
    let mut card = crate::clients::ssr::load_card(&state.db, user.id, id).await?;
    card.viewer_is_manager = user.is_manager();
    card.viewer_is_admin = user.is_admin();
    card.viewer_branch = user.branch_id;
    card.sale_submission = uuid::Uuid::new_v4().to_string();
    Ok(card)
}

#[server(prefix = "/rpc")]
pub async fn check_in_client(client_id: i64, branch_id: i64) -> Result<i64, AppError> {
    let (user, state) = authorize_client(client_id, crate::auth::ssr::Need::Staff).await?;
    // Reception checks clients in at its own branch.
    let branch_id = user.scope.acting_branch(branch_id);
    let id = crate::visits::ssr::check_in(
        &state.db,
        user.id,
        client_id,
        branch_id,
        crate::vocab::VisitStart::Manual,
    )
    .await?;
    state.announce(branch_id);
    Ok(id)
}

#[server(prefix = "/rpc")]
pub async fn add_visit_service(visit_id: i64, kind: String, note: String) -> Result<i64, AppError> {
    let (user, state) = authorize_visit(visit_id).await?;
    let (id, branch) =
        crate::visits::ssr::add_service(&state.db, user.id, visit_id, &kind, &note).await?;
    if let Some(client) = crate::visits::ssr::client_of(&state.db, visit_id).await? {
        crate::scoring::ssr::rescore_after_change(&state.db, client).await;
    }
    state.announce(branch);
    Ok(id)
}

// A fixed endpoint: scripts (the camera passage test) close visits too.
#[server(prefix = "/rpc", endpoint = "close_client_visit")]
pub async fn close_client_visit(visit_id: i64) -> Result<(), AppError> {
    let (user, state) = authorize_visit(visit_id).await?;
    let branch =
        crate::visits::ssr::close(&state.db, user.id, visit_id, crate::vocab::VisitEnd::Manual)
            .await?;
    if let Some(client) = crate::visits::ssr::client_of(&state.db, visit_id).await? {
        crate::scoring::ssr::rescore_after_change(&state.db, client).await;
    }
    state.announce(branch);
    Ok(())
}

#[server(prefix = "/rpc")]
pub async fn update_client(id: i64, form: ClientForm) -> Result<(), AppError> {
    let (user, state) = authorize_client(id, crate::auth::ssr::Need::Staff).await?;
    let input = crate::clients::ssr::parse_input(&form, crate::infra::now())?;
    crate::clients::ssr::update(&state.db, user.id, id, &input).await
}

#[server(prefix = "/rpc")]
pub async fn record_client_sale(
    client_id: i64,
    car: i64,
    price: String,
    #[server(default)] contract: String,
    #[server(default)] submission: String,
) -> Result<i64, AppError> {
    let (user, state) = authorize_client(client_id, crate::auth::ssr::Need::Manager).await?;
    let contract = match contract.trim() {
        "" => None,
        id => Some(
            id.parse()
                .map_err(|_| AppError::invalid("contract", crate::error::InvalidCode::BadFormat))?,
        ),
    };
    let id = crate::visits::ssr::sales::record(
        &state.db,
        user.id,
        client_id,
        car,
        &price,
        contract,
        &submission,
    )
    .await?;
    crate::scoring::ssr::rescore_after_change(&state.db, client_id).await;
    Ok(id)
}

/// Corrects a sale's car and price (managers and admins; audit-logged).
#[server(prefix = "/rpc")]
pub async fn correct_client_sale(
    client_id: i64,
    sale_id: i64,
    car: i64,
    price: String,
) -> Result<(), AppError> {
    let (user, state) = authorize_client(client_id, crate::auth::ssr::Need::Manager).await?;
    crate::visits::ssr::sales::correct(&state.db, user.id, client_id, sale_id, car, &price).await?;
    crate::scoring::ssr::rescore_after_change(&state.db, client_id).await;
    Ok(())
}

/// Cancels a sale (managers and admins; audit-logged); the client's score
/// follows, as a non-buyer again unless another sale stands.
#[server(prefix = "/rpc")]
pub async fn cancel_client_sale(client_id: i64, sale_id: i64) -> Result<(), AppError> {
    let (user, state) = authorize_client(client_id, crate::auth::ssr::Need::Manager).await?;
    crate::visits::ssr::sales::cancel(&state.db, user.id, client_id, sale_id).await?;
    crate::scoring::ssr::rescore_after_change(&state.db, client_id).await;
    Ok(())
}

/// "Not this person": the camera matched the wrong client. The visit leaves
/// this card and the face stops matching them.
#[server(prefix = "/rpc")]
pub async fn reject_camera_match(client_id: i64, event_id: i64) -> Result<(), AppError> {
    let (user, state) = authorize_client(client_id, crate::auth::ssr::Need::Staff).await?;
    crate::camera::ssr::reject_match_of(&state.db, user.id, client_id, event_id).await?;
    let branch = crate::clients::ssr::branch_of(&state.db, client_id).await;
    if let Ok(branch) = branch {
        state.announce(branch);
    }
    Ok(())
}

/// Face recognition on or off for a client, by staff with the person in
/// front of them (never from a kiosk). Switching it on needs a photo on file
/// that staff have just compared with the person.
#[server(prefix = "/rpc")]
pub async fn set_client_biometrics(client_id: i64, on: bool) -> Result<(), AppError> {
    let (user, state) = authorize_client(client_id, crate::auth::ssr::Need::Staff).await?;
    crate::clients::ssr::set_biometric_opt_in(&state.db, user.id, client_id, on).await
}

/// Deletes a document (managers and admins).
#[server(prefix = "/rpc")]
pub async fn delete_client_document(client_id: i64, id: i64) -> Result<(), AppError> {
    let (user, state) = authorize_client(client_id, crate::auth::ssr::Need::Manager).await?;
    let document = crate::privacy::ssr::documents::get(&state.db, id).await?;
    if document.client_id != client_id {
        return Err(AppError::NotFound);
    }
    crate::privacy::ssr::documents::delete(&state.db, &state.data_dir, user.id, id).await
}

/// Erases a client's personal data (admins only); visits stay, anonymous.
// A fixed endpoint: the kiosk-faces benchmark erases the client it registered.
#[server(prefix = "/rpc", endpoint = "erase_client")]
pub async fn erase_client(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    if confirm.as_deref() != Some("on") {
        return Err(AppError::invalid(
            "confirm",
            crate::error::InvalidCode::Required,
        ));
    }
    crate::privacy::ssr::erase_client(&state.db, &state.data_dir, admin.id, id).await
}

#[server(prefix = "/rpc")]
pub async fn client_form_choices() -> Result<FormChoices, AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    let (car_models, branches) = crate::clients::ssr::choices(&state.db).await?;
    Ok(FormChoices {
        car_models,
        branches,
        own_branch: user.branch_id,
    })
}

/// Staff add a walk-in client by hand, and may check them in at once.
#[server(prefix = "/rpc")]
pub async fn create_client(
    form: ClientForm,
    branch_id: i64,
    check_in: Option<String>,
) -> Result<i64, AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    let branch_id = user.scope.acting_branch(branch_id);
    let input = crate::clients::ssr::parse_input(&form, crate::infra::now())?;
    let id = crate::clients::ssr::create(&state.db, user.id, branch_id, &input).await?;
    if check_in.is_some() {
        crate::visits::ssr::check_in(
            &state.db,
            user.id,
            id,
            branch_id,
            crate::vocab::VisitStart::Manual,
        )
        .await?;
        state.announce(branch_id);
    }
    Ok(id)
}
