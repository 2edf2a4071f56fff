//! A staff member's face for the cameras (so they are never counted as a
//! visitor) and the presence log the cameras keep of them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading, clock, date};

/// An enrolled face (the photo itself never leaves the server except to a camera).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StaffFace {
    pub staff_id: i64,
    pub full_name: String,
    pub enrolled_at: i64,
    pub consent_at: i64,
    pub enrolled_by: String,
    /// Minutes east of UTC of the member's branch (the network's first for
    /// staff of every branch), for showing the date.
    pub offset_minutes: i32,
}

/// Whose face the card is about, and their enrolment if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceStatus {
    pub staff_id: i64,
    pub face: Option<StaffFace>,
}

/// One member's day at one branch, as the cameras saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PresenceRow {
    pub day: i64,
    pub branch: String,
    pub name: String,
    pub first_in: Option<i64>,
    pub last_out: Option<i64>,
    pub passages: i64,
    pub offset_minutes: i32,
}

/// The face enrolment of `staff_id` (`None`: the caller's own).
#[server(prefix = "/rpc")]
pub async fn staff_face_status(staff_id: Option<i64>) -> Result<FaceStatus, AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    let staff_id = staff_id.unwrap_or(user.user.id);
    let face = super::ssr::staff::status(&state.db, &user, staff_id).await?;
    Ok(FaceStatus { staff_id, face })
}

/// Removes a member's face (their own, or anyone's for an admin).
#[server(prefix = "/rpc")]
pub async fn remove_staff_face(staff_id: i64) -> Result<(), AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    super::ssr::staff::remove(&state.db, &state.data_dir, &user, staff_id).await
}

/// The last week of staff presence, for admins.
#[server(prefix = "/rpc")]
pub async fn staff_presence() -> Result<Vec<PresenceRow>, AppError> {
    let (_, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    super::ssr::staff::presence(&state.db, 7).await
}

/// The message after the upload form came back (`?face=ok` or `?face_error=…`).
#[component]
fn UploadNotice() -> impl IntoView {
    let i18n = use_i18n();
    let query = leptos_router::hooks::use_query_map();
    move || {
        let q = query.read();
        if q.get("face").as_deref() == Some("ok") {
            return Some(
                view! { <p class="alert alert-ok" role="status" data-test="face-ok">{t!(i18n, faces.enrolled_ok)}</p> }
                    .into_any(),
            );
        }
        q.get("face_error").map(|code| {
            let text = match code.as_str() {
                "consent" => t!(i18n, faces.need_consent).into_any(),
                "too_large" => t!(i18n, faces.too_large).into_any(),
                "missing" => t!(i18n, faces.missing).into_any(),
                "type" => t!(i18n, faces.bad_photo).into_any(),
                "forbidden" => t!(i18n, errors.forbidden).into_any(),
                _ => t!(i18n, faces.failed).into_any(),
            };
            view! { <p class="alert alert-error" role="alert" data-test="face-error">{text}</p> }
                .into_any()
        })
    }
}

/// Enrol, replace or remove a member's face. `staff_id` `None` is the
/// signed-in member (the profile page); `back` is where the upload returns.
#[component]
pub fn StaffFaceCard(staff_id: Option<i64>, back: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let remove = ServerAction::<RemoveStaffFace>::new();
    let status = Resource::new(
        move || remove.version().get(),
        move |_| staff_face_status(staff_id),
    );
    let own = staff_id.is_none();
    view! {
        <div class="staff-face" data-test="staff-face">
            <UploadNotice />
            <p class="muted small">{t!(i18n, faces.why)}</p>
            <Transition fallback=Loading>
                {move || {
                    status
                        .get()
                        .map(|result| match result {
                            Ok(s) => view! { <FaceForms status=s own remove back /> }.into_any(),
                            Err(error) => view! { <ErrorMessage error /> }.into_any(),
                        })
                }}
            </Transition>
            <ActionError value=remove.value() />
        </div>
    }
}

#[component]
fn FaceForms(
    status: FaceStatus,
    own: bool,
    remove: ServerAction<RemoveStaffFace>,
    back: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let staff_id = status.staff_id;
    let file = NodeRef::<leptos::html::Input>::new();
    let enrolled = status.face.clone().map(|f| {
        let when = date(f.enrolled_at, f.offset_minutes);
        let by = f.enrolled_by.clone();
        view! {
            <div class="status-row">
                <span class="badge ok" data-test="face-enrolled">
                    {t!(i18n, faces.enrolled, date = move || when.clone(), by = move || by.clone())}
                </span>
                <crate::ui::Confirm
                    label=move || t!(i18n, faces.remove)
                    confirm=move || t!(i18n, faces.remove)
                    on_confirm=Callback::new(move |_| {
                        remove.dispatch(RemoveStaffFace { staff_id });
                    })
                    test="remove-face"
                >
                    {t!(i18n, faces.remove_question)}
                </crate::ui::Confirm>
            </div>
        }
    });
    let consent = if own {
        t!(i18n, faces.consent_own).into_any()
    } else {
        t!(i18n, faces.consent_other).into_any()
    };
    view! {
        {match enrolled {
            Some(v) => v.into_any(),
            None => view! { <p><span class="badge muted" data-test="face-missing">{t!(i18n, faces.not_enrolled)}</span></p> }.into_any(),
        }}
        <form
            method="post"
            enctype="multipart/form-data"
            action=format!("/api/staff/{staff_id}/face")
            class="form-stack"
            data-test="enrol-face"
        >
            <input type="hidden" name="back" value=back />
            <label class="field">
                <span>{t!(i18n, faces.photo)}</span>
                <input node_ref=file type="file" name="file" required accept="image/jpeg,image/png" capture="user" />
            </label>
            <CameraCapture file />
            <label class="check">
                <input type="checkbox" name="consent" value="on" required />
                <span>{consent}</span>
            </label>
            <div class="form-actions">
                <button type="submit" class="button">
                    {if status.face.is_some() { t!(i18n, faces.replace).into_any() } else { t!(i18n, faces.enrol).into_any() }}
                </button>
            </div>
        </form>
    }
}

/// Where the camera capture stands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Capture {
    Off,
    Starting,
    Live,
    /// No camera, or the browser or the member refused it.
    Refused,
}

/// A photo from the computer's or tablet's camera in the page: the picture
/// goes into the form's file field, so the form sends it like a chosen file
/// (and a browser without a camera API still has the field). Shown only
/// once the page runs in the browser and a camera API exists.
#[component]
fn CameraCapture(file: NodeRef<leptos::html::Input>) -> impl IntoView {
    let i18n = use_i18n();
    let video = NodeRef::<leptos::html::Video>::new();
    let state = RwSignal::new(Capture::Off);
    let still = RwSignal::new(None::<String>);
    let available = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    let stream = StoredValue::new_local(None::<web_sys::MediaStream>);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| available.set(crate::webcam::supported()));
        on_cleanup(move || {
            if let Some(s) = stream.try_get_value().flatten() {
                crate::webcam::stop(&s);
            }
        });
    }
    let stop = move || {
        #[cfg(feature = "hydrate")]
        if let Some(s) = stream.try_get_value().flatten() {
            crate::webcam::stop(&s);
            stream.set_value(None);
        }
    };
    let open = move |_| {
        state.set(Capture::Starting);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Some(element) = video.get_untracked() else {
                return;
            };
            match crate::webcam::start(&element).await {
                Some(started) => {
                    stream.set_value(Some(started));
                    state.set(Capture::Live);
                }
                None => state.set(Capture::Refused),
            }
        });
    };
    let take = move |_| {
        #[cfg(feature = "hydrate")]
        if let (Some(element), Some(input)) = (video.get_untracked(), file.get_untracked())
            && let Some(url) = crate::webcam::capture(&element, 1280)
            && crate::webcam::put_in_file_input(&input, &url, "camera.jpg")
        {
            still.set(Some(url));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = file;
        stop();
        state.set(Capture::Off);
    };
    let cancel = move |_| {
        stop();
        state.set(Capture::Off);
    };
    move || {
        available.get().then(|| {
            view! {
                <div class="camera-capture" data-test="camera-capture">
                    <video
                        node_ref=video
                        autoplay=true
                        playsinline=true
                        muted=true
                        class="camera-preview"
                        class:hidden=move || !matches!(state.get(), Capture::Starting | Capture::Live)
                        data-test="camera-video"
                    ></video>
                    {move || {
                        still
                            .get()
                            .filter(|_| state.get() == Capture::Off)
                            .map(|src| {
                                view! {
                                    <img class="camera-preview" src=src alt="" data-test="camera-still" />
                                    <p class="muted small" role="status">{t!(i18n, faces.camera_taken)}</p>
                                }
                            })
                    }}
                    {move || {
                        (state.get() == Capture::Refused)
                            .then(|| view! { <p class="alert alert-error" role="alert" data-test="camera-refused">{t!(i18n, faces.camera_refused)}</p> })
                    }}
                    <div class="form-actions">
                        {move || match state.get() {
                            Capture::Live | Capture::Starting => view! {
                                <button type="button" class="button ghost" on:click=cancel>{t!(i18n, faces.camera_cancel)}</button>
                                <button type="button" class="button" disabled=move || state.get() != Capture::Live on:click=take data-test="camera-take">
                                    {t!(i18n, faces.camera_take)}
                                </button>
                            }
                                .into_any(),
                            Capture::Off | Capture::Refused => view! {
                                <button type="button" class="button ghost" on:click=open data-test="camera-open">
                                    {move || if still.get().is_some() { t!(i18n, faces.camera_again).into_any() } else { t!(i18n, faces.camera_open).into_any() }}
                                </button>
                            }
                                .into_any(),
                        }}
                    </div>
                </div>
            }
        })
    }
}

/// The last week's first-in / last-out per member and branch.
#[component]
pub fn StaffPresence() -> impl IntoView {
    let i18n = use_i18n();
    let rows = Resource::new(|| (), |_| staff_presence());
    view! {
        <section class="card" data-test="staff-presence">
            <h2>{t!(i18n, faces.presence_title)}</h2>
            <p class="muted small">{t!(i18n, faces.presence_hint)}</p>
            <Transition fallback=Loading>
                {move || {
                    rows.get()
                        .map(|result| match result {
                            Ok(rows) if rows.is_empty() => {
                                view! { <p class="muted">{t!(i18n, faces.presence_empty)}</p> }.into_any()
                            }
                            Ok(rows) => view! { <PresenceTable rows /> }.into_any(),
                            Err(error) => view! { <ErrorMessage error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn PresenceTable(rows: Vec<PresenceRow>) -> impl IntoView {
    let i18n = use_i18n();
    let time =
        |t: Option<i64>, offset: i32| t.map(|t| clock(t, offset)).unwrap_or_else(|| "—".into());
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th>{t!(i18n, faces.day)}</th>
                        <th>{t!(i18n, fields.full_name)}</th>
                        <th class="hide-sm">{t!(i18n, fields.branch)}</th>
                        <th>{t!(i18n, faces.first_in)}</th>
                        <th>{t!(i18n, faces.last_out)}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| {
                            view! {
                                <tr>
                                    <td>{date(r.day * 86_400, 0)}</td>
                                    <td>{r.name}</td>
                                    <td class="hide-sm">{r.branch}</td>
                                    <td>{time(r.first_in, r.offset_minutes)}</td>
                                    <td>{time(r.last_out, r.offset_minutes)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
