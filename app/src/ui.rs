//! Small shared pieces of UI: error messages in the user's language, the
//! not-found page, loading text.

use leptos::prelude::*;

use crate::error::{AppError, ConflictCode, InvalidCode};
use crate::i18n::*;

/// The localised label of a form field named by the server.
#[component]
pub fn FieldLabel(field: String) -> impl IntoView {
    let i18n = use_i18n();
    match field.as_str() {
        "login" => t!(i18n, fields.login).into_any(),
        "password" => t!(i18n, fields.password).into_any(),
        "full_name" => t!(i18n, fields.full_name).into_any(),
        "role" => t!(i18n, fields.role).into_any(),
        "branch" => t!(i18n, fields.branch).into_any(),
        "name" => t!(i18n, fields.name).into_any(),
        "city" => t!(i18n, fields.city).into_any(),
        "time_zone" => t!(i18n, fields.time_zone).into_any(),
        "opens_at" => t!(i18n, fields.opens_at).into_any(),
        "closes_at" => t!(i18n, fields.closes_at).into_any(),
        "phone" => t!(i18n, fields.phone).into_any(),
        "birth_year" => t!(i18n, fields.birth_year).into_any(),
        "gender" => t!(i18n, fields.gender).into_any(),
        "source" => t!(i18n, fields.source).into_any(),
        "car" => t!(i18n, fields.car).into_any(),
        "price" => t!(i18n, fields.price).into_any(),
        "kind" => t!(i18n, fields.kind).into_any(),
        "note" => t!(i18n, fields.note).into_any(),
        "consent" => t!(i18n, fields.consent).into_any(),
        "contract" => t!(i18n, fields.contract).into_any(),
        "confirm" => t!(i18n, fields.confirm).into_any(),
        "request" => t!(i18n, fields.request).into_any(),
        "photo" => t!(i18n, fields.photo).into_any(),
        "services" => t!(i18n, fields.services).into_any(),
        "file" => t!(i18n, fields.file).into_any(),
        "code" => t!(i18n, fields.code).into_any(),
        "submission" => t!(i18n, fields.submission).into_any(),
        "current_password" => t!(i18n, fields.current_password).into_any(),
        "new_password" => t!(i18n, fields.new_password).into_any(),
        "repeat_password" => t!(i18n, fields.repeat_password).into_any(),
        "language" => t!(i18n, fields.language).into_any(),
        "camera_role" => t!(i18n, fields.camera_role).into_any(),
        "consent_uz" => t!(i18n, fields.consent_uz).into_any(),
        "consent_ru" => t!(i18n, fields.consent_ru).into_any(),
        "consent_en" => t!(i18n, fields.consent_en).into_any(),
        other => other.to_string().into_any(),
    }
}

/// An error as a sentence the user can act on.
#[component]
pub fn ErrorMessage(error: AppError) -> impl IntoView {
    let i18n = use_i18n();
    let text = match error {
        AppError::Unauthorized => t!(i18n, errors.unauthorized).into_any(),
        AppError::Forbidden => t!(i18n, errors.forbidden).into_any(),
        AppError::NotFound => t!(i18n, errors.not_found).into_any(),
        AppError::BadCredentials => t!(i18n, errors.bad_credentials).into_any(),
        AppError::TooManyAttempts { retry_after_secs } => t!(
            i18n,
            errors.too_many_attempts,
            secs = move || retry_after_secs
        )
        .into_any(),
        AppError::Busy { retry_after_secs } => {
            t!(i18n, errors.busy, secs = move || retry_after_secs).into_any()
        }
        AppError::Invalid { field, code } => {
            let rule = match code {
                InvalidCode::Required => t!(i18n, errors.required).into_any(),
                InvalidCode::TooLong => t!(i18n, errors.too_long).into_any(),
                InvalidCode::TooShort => t!(i18n, errors.too_short).into_any(),
                InvalidCode::BadFormat => t!(i18n, errors.bad_format).into_any(),
                InvalidCode::OutOfRange => t!(i18n, errors.out_of_range).into_any(),
                InvalidCode::UnknownValue => t!(i18n, errors.unknown_value).into_any(),
                InvalidCode::Wrong => t!(i18n, errors.wrong).into_any(),
                InvalidCode::Mismatch => t!(i18n, errors.mismatch).into_any(),
            };
            view! { <FieldLabel field /> ": " {rule} }.into_any()
        }
        AppError::Conflict { code } => match code {
            ConflictCode::LoginTaken => t!(i18n, errors.login_taken).into_any(),
            ConflictCode::BranchNameTaken => t!(i18n, errors.branch_name_taken).into_any(),
            ConflictCode::LastAdmin => t!(i18n, errors.last_admin).into_any(),
            ConflictCode::BranchInUse => t!(i18n, errors.branch_in_use).into_any(),
            ConflictCode::PhoneTaken => t!(i18n, errors.phone_taken).into_any(),
            ConflictCode::VisitOpen => t!(i18n, errors.visit_open).into_any(),
            ConflictCode::VisitClosed => t!(i18n, errors.visit_closed).into_any(),
            ConflictCode::TrainingRunning => t!(i18n, errors.training_running).into_any(),
        },
        AppError::TrainingRefused { reason } => {
            view! { {t!(i18n, errors.training_refused)} " " <span class="muted">"(" {reason} ")"</span> }.into_any()
        }
        AppError::Internal => t!(i18n, errors.internal).into_any(),
        AppError::Transport { .. } => t!(i18n, errors.transport).into_any(),
    };
    view! {
        <p class="alert alert-error" role="alert">
            {text}
        </p>
    }
}

/// "All branches" and one option per branch for a branch `<select>`;
/// `selected` is a branch id as text, empty for all.
#[component]
pub fn BranchOptions(branches: Vec<(i64, String)>, selected: String) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <option value="" selected=selected.is_empty()>{t!(i18n, common.all_branches)}</option>
        {branches
            .into_iter()
            .map(|(id, name)| {
                let id = id.to_string();
                let is = id == selected;
                view! { <option value=id selected=is>{name}</option> }
            })
            .collect_view()}
    }
}

/// Shows the error of a finished action, if any.
#[component]
pub fn ActionError<T, S>(value: S) -> impl IntoView
where
    T: Send + Sync + Clone + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || match value.get() {
        Some(Err(error)) => Some(view! { <ErrorMessage error /> }),
        _ => None,
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! { <p class="muted">{t!(i18n, common.loading)}</p> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <main class="centered-page">
            <div class="card narrow">
                <h1>"404"</h1>
                <p>{t!(i18n, errors.page_not_found)}</p>
                <a class="button" href="/">{t!(i18n, common.back_home)}</a>
            </div>
        </main>
    }
}

/// "HH:MM" of a Unix time shifted by `offset_minutes`.
pub fn clock(unix: i64, offset_minutes: i32) -> String {
    let local = unix + i64::from(offset_minutes) * 60;
    let minutes = local.rem_euclid(86_400) / 60;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// "YYYY-MM-DD" of a Unix time shifted by `offset_minutes`.
pub fn date(unix: i64, offset_minutes: i32) -> String {
    let days = (unix + i64::from(offset_minutes) * 60).div_euclid(86_400);
    // Civil-from-days (Howard Hinnant), so the browser needs no date library.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_local_times() {
        // 2026-11-24 10:00 UTC is 15:00 in Tashkent.
        let t = 1_795_514_400;
        assert_eq!(super::clock(t, 300), "15:00");
        assert_eq!(super::date(t, 300), "2026-11-24");
        assert_eq!(super::date(0, 0), "1970-01-01");
        assert_eq!(super::date(951_782_400, 0), "2000-02-29");
    }
}

/// A service kind (test drive, credit …) in the user's language.
#[component]
pub fn ServiceName(kind: crate::vocab::ServiceKind) -> impl IntoView {
    let i18n = use_i18n();
    move || kind.label(i18n.get_locale())
}

/// A phone number a phone can call with one tap (`tel:` with the digits and
/// a leading +); "—" when there is none (an erased client).
#[component]
pub fn PhoneLink(phone: Option<String>) -> impl IntoView {
    match phone.filter(|p| !p.trim().is_empty()) {
        Some(phone) => {
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            view! { <a class="nowrap phone" href=format!("tel:+{digits}")>{phone}</a> }.into_any()
        }
        None => view! { <span>"—"</span> }.into_any(),
    }
}

/// A page title. On the server it is read once, while the page renders:
/// Leptos reads the title again after the body has streamed, when under
/// load the page's signals may already be disposed (a panic that cut the
/// answer). In the browser it follows the language switch.
pub fn title(text: impl Fn() -> String + Send + Sync + 'static) -> leptos::text_prop::TextProp {
    #[cfg(feature = "ssr")]
    {
        leptos::text_prop::TextProp::from(text())
    }
    #[cfg(not(feature = "ssr"))]
    {
        leptos::text_prop::TextProp::from(text)
    }
}

/// A destructive action asked twice: the first button opens a question that
/// says exactly what will happen (the children), the second button does it,
/// Cancel closes the question. Nothing happens on the first click.
#[component]
pub fn Confirm(
    /// The first button's words.
    #[prop(into)]
    label: ViewFn,
    /// The confirming button's words: the action itself, not "OK".
    #[prop(into)]
    confirm: ViewFn,
    on_confirm: Callback<()>,
    #[prop(optional)] test: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let closed = move || {
        let label = label.clone();
        view! {
            <button type="button" class="button ghost small danger" data-test="confirm-open" on:click=move |_| open.set(true)>
                {label.run()}
            </button>
        }
    };
    view! {
        <span class="confirm" data-test=test>
            <Show when=move || open.get() fallback=closed>
                <span class="confirm-box" role="alertdialog" aria-live="assertive">
                    <span class="confirm-question">{children()}</span>
                    <span class="confirm-actions">
                        <button
                            type="button"
                            class="button small danger"
                            data-test="confirm-yes"
                            on:click=move |_| {
                                open.set(false);
                                on_confirm.run(());
                            }
                        >
                            {confirm.run()}
                        </button>
                        <button type="button" class="button ghost small" data-test="confirm-no" on:click=move |_| open.set(false)>
                            {t!(i18n, common.keep)}
                        </button>
                    </span>
                </span>
            </Show>
        </span>
    }
}
