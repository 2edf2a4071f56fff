//! Settings: kiosk and camera devices (pairing codes, QR, revocation) and
//! the versioned consent text.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading, date};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub camera_role: Option<String>,
    pub branch: String,
    /// Minutes east of UTC at the device's branch.
    pub offset_minutes: i32,
    pub paired: bool,
    pub pairing_expires_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A new device's one-time pairing code, its link and the link as a QR code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pairing {
    pub device_id: i64,
    pub code: String,
    pub link: String,
    pub qr_svg: String,
    /// For a camera: the command that pairs the vision program.
    pub command: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicesData {
    pub devices: Vec<DeviceRow>,
    pub branches: Vec<(i64, String)>,
    pub consent_version: i64,
    /// (language, text) of the newest consent version.
    pub consent_texts: Vec<(String, String)>,
    pub retention_days: i64,
}

#[server(prefix = "/rpc")]
pub async fn load_devices() -> Result<DevicesData, AppError> {
    let (_, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let (_, branches) = crate::clients::ssr::choices(&state.db).await?;
    let (consent_version, consent_texts) = crate::privacy::ssr::consent_texts(&state.db).await?;
    Ok(DevicesData {
        devices: crate::settings::ssr::devices::list(&state.db).await?,
        branches,
        consent_version,
        consent_texts,
        retention_days: crate::camera::ssr::retention_days(&state.db).await?,
    })
}

/// How many days unknown visitors' snapshots are kept (1–365).
#[server(prefix = "/rpc")]
pub async fn save_snapshot_retention(days: String) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::camera::ssr::set_retention_days(&state.db, admin.id, &days).await
}

#[server(prefix = "/rpc", endpoint = "create_device")]
pub async fn create_device(
    name: String,
    branch_id: String,
    kind: String,
    #[server(default)] camera_role: String,
) -> Result<Pairing, AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let branch_id = super::parse_optional_id("branch", &branch_id)?.ok_or(AppError::invalid(
        "branch",
        crate::error::InvalidCode::Required,
    ))?;
    let role = Some(camera_role.as_str()).filter(|r| !r.is_empty());
    let (device_id, code) =
        crate::settings::ssr::devices::create(&state.db, admin.id, branch_id, &kind, role, &name)
            .await?;
    let origin = crate::infra::site::origin(&state).await?;
    let link = format!("{origin}/kiosk?pair={code}");
    let qr_svg = crate::infra::site::qr_svg(&link, 180)?;
    let command =
        (kind == "camera").then(|| format!("vision pair --server {origin} --code {code}"));
    Ok(Pairing {
        device_id,
        code,
        command,
        link,
        qr_svg,
    })
}

#[server(prefix = "/rpc")]
pub async fn revoke_device(id: i64) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::settings::ssr::devices::revoke(&state.db, admin.id, id).await
}

#[server(prefix = "/rpc")]
pub async fn save_consent(uz: String, ru: String, en: String) -> Result<i64, AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::privacy::ssr::save_consent(&state.db, admin.id, &uz, &ru, &en).await
}

#[component]
pub fn DevicesSection() -> impl IntoView {
    let create = ServerAction::<CreateDevice>::new();
    let revoke = ServerAction::<RevokeDevice>::new();
    let consent = ServerAction::<SaveConsent>::new();
    let retention = ServerAction::<SaveSnapshotRetention>::new();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                revoke.version().get(),
                consent.version().get(),
                retention.version().get(),
            )
        },
        |_| load_devices(),
    );
    view! {
        <Transition fallback=Loading>
            {move || {
                data.get()
                    .map(|result| match result {
                        Ok(data) => view! { <DevicesBody data create revoke consent retention /> }.into_any(),
                        Err(AppError::Forbidden) => ().into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn DevicesBody(
    data: DevicesData,
    create: ServerAction<CreateDevice>,
    revoke: ServerAction<RevokeDevice>,
    consent: ServerAction<SaveConsent>,
    retention: ServerAction<SaveSnapshotRetention>,
) -> impl IntoView {
    let i18n = use_i18n();
    let text = |lang: &str| {
        data.consent_texts
            .iter()
            .find(|(l, _)| l == lang)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let (uz, ru, en) = (text("uz"), text("ru"), text("en"));
    view! {
        <section class="card">
            <h2>{t!(i18n, settings.devices)}</h2>
            <p class="muted small">{t!(i18n, settings.devices_hint)}</p>
            {move || {
                create
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|p| {
                        view! {
                            <div class="alert alert-ok pairing" data-test="pairing">
                                <div class="pairing-qr" inner_html=p.qr_svg.clone()></div>
                                <div>
                                    <p>{t!(i18n, settings.pairing_shown_once)}</p>
                                    <p>{t!(i18n, settings.pairing_code)} ": " <code class="secret" data-test="pairing-code">{p.code.clone()}</code></p>
                                    {match p.command.clone() {
                                        Some(command) => view! { <p><code data-test="pairing-command">{command}</code></p> }.into_any(),
                                        None => view! { <p><a href=p.link.clone() data-test="pairing-link">{p.link.clone()}</a></p> }.into_any(),
                                    }}
                                </div>
                            </div>
                        }
                    })
            }}
            <div class="table-wrap">
                <table class="table" data-test="device-table">
                    <tbody>
                        {data
                            .devices
                            .into_iter()
                            .map(|d| {
                                let id = d.id;
                                let status = if d.revoked_at.is_some() {
                                    t!(i18n, settings.device_revoked).into_any()
                                } else if d.paired {
                                    t!(i18n, settings.device_paired).into_any()
                                } else {
                                    t!(i18n, settings.device_waiting).into_any()
                                };
                                view! {
                                    <tr class:muted=d.revoked_at.is_some()>
                                        <td><strong>{d.name.clone()}</strong></td>
                                        <td>
                                            {if d.kind == "kiosk" {
                                                t!(i18n, settings.kind_kiosk).into_any()
                                            } else {
                                                view! { {t!(i18n, settings.kind_camera)} " · " {d.camera_role.clone().unwrap_or_default()} }.into_any()
                                            }}
                                        </td>
                                        <td>{d.branch.clone()}</td>
                                        <td>{status}</td>
                                        <td class="hide-sm">{d.last_seen_at.map(|t| date(t, d.offset_minutes)).unwrap_or_default()}</td>
                                        <td>
                                            {d.revoked_at.is_none().then(|| {
                                                let name = d.name.clone();
                                                view! {
                                                    <crate::ui::Confirm
                                                        label=move || t!(i18n, settings.revoke)
                                                        confirm=move || t!(i18n, settings.revoke_device_confirm)
                                                        on_confirm=Callback::new(move |_| { revoke.dispatch(RevokeDevice { id }); })
                                                        test="revoke-device"
                                                    >
                                                        {let name = name.clone(); t!(i18n, settings.revoke_device_question, name = move || name.clone())}
                                                    </crate::ui::Confirm>
                                                }
                                            })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <ActionForm action=create attr:class="form-grid" attr:data-test="new-device">
                <label class="field">
                    <span>{t!(i18n, fields.name)}</span>
                    <input name="name" required maxlength="80" />
                </label>
                <label class="field">
                    <span>{t!(i18n, fields.branch)}</span>
                    <select name="branch_id">
                        {data.branches.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span>{t!(i18n, settings.device_kind)}</span>
                    <select name="kind">
                        <option value="kiosk">{t!(i18n, settings.kind_kiosk)}</option>
                        <option value="camera">{t!(i18n, settings.kind_camera)}</option>
                    </select>
                </label>
                <label class="field">
                    <span>{t!(i18n, fields.camera_role)}</span>
                    <select name="camera_role">
                        <option value="">"—"</option>
                        <option value="entrance">{t!(i18n, settings.entrance)}</option>
                        <option value="exit">{t!(i18n, settings.exit)}</option>
                    </select>
                </label>
                <div class="form-actions">
                    <button type="submit" class="button primary" data-test="create-device">{t!(i18n, settings.create_device)}</button>
                </div>
            </ActionForm>
            <ActionError value=create.value() />
            <ActionError value=revoke.value() />
        </section>

        <section class="card">
            <h2>{t!(i18n, settings.consent)} " · v" {data.consent_version}</h2>
            <p class="muted small">{t!(i18n, settings.consent_hint)}</p>
            <ActionForm action=consent attr:class="form-stack" attr:data-test="consent-form">
                <label class="field">
                    <span>{t!(i18n, fields.consent_uz)}</span>
                    <textarea name="uz" rows="3" required maxlength="5000">{uz}</textarea>
                </label>
                <label class="field">
                    <span>{t!(i18n, fields.consent_ru)}</span>
                    <textarea name="ru" rows="3" required maxlength="5000">{ru}</textarea>
                </label>
                <label class="field">
                    <span>{t!(i18n, fields.consent_en)}</span>
                    <textarea name="en" rows="3" required maxlength="5000">{en}</textarea>
                </label>
                <div class="form-actions">
                    <button type="submit" class="button primary">{t!(i18n, settings.save_consent)}</button>
                </div>
            </ActionForm>
            <ActionError value=consent.value() />
        </section>

        <section class="card">
            <h2>{t!(i18n, settings.biometrics)}</h2>
            <p class="muted small">{t!(i18n, settings.retention_hint)}</p>
            <ActionForm action=retention attr:class="form-grid" attr:data-test="retention-form">
                <label class="field">
                    <span>{t!(i18n, settings.retention)}</span>
                    <input name="days" type="number" min="1" max="365" required value=data.retention_days.to_string() />
                </label>
                <div class="form-actions">
                    <button type="submit" class="button primary">{t!(i18n, settings.save_retention)}</button>
                </div>
            </ActionForm>
            <ActionError value=retention.value() />
        </section>
    }
}
