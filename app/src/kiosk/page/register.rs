//! A new visitor's registration: details, consent and the optional photo.

use super::*;
use crate::error::AppError;
use crate::kiosk::{KioskRegistration, kiosk_register};
use crate::vocab::Source;

/// The details a visitor must give before the consent step: a name, and a
/// birth year that makes them 16 to 110 years old (as the server checks).
fn check_details(full_name: &str, birth_year: &str) -> Result<(), AppError> {
    use crate::error::InvalidCode;
    if full_name.trim().is_empty() {
        return Err(AppError::invalid("full_name", InvalidCode::Required));
    }
    let year = birth_year.trim();
    if year.is_empty() {
        return Err(AppError::invalid("birth_year", InvalidCode::Required));
    }
    let year: i32 = year
        .parse()
        .map_err(|_| AppError::invalid("birth_year", InvalidCode::BadFormat))?;
    let this_year = 1970 + (camera::now_ms() / 1000.0 / 31_556_952.0) as i32;
    if !(this_year - 110..=this_year - 16).contains(&year) {
        return Err(AppError::invalid("birth_year", InvalidCode::OutOfRange));
    }
    Ok(())
}

/// The fields whose messages stand beside them (the rest show at the foot).
pub(super) const FIELDS_WITH_OWN_ERROR: [&str; 2] = ["full_name", "birth_year"];

/// The message about `field`, right under it, where the visitor is looking.
#[component]
fn FieldError(field: &'static str) -> impl IntoView {
    let kiosk = expect_context::<Kiosk>();
    move || {
        kiosk
            .error
            .get()
            .filter(|e| matches!(e, AppError::Invalid { field: f, .. } if f == field))
            .map(|error| {
                view! {
                    <div class="kiosk-field-error" data-test=format!("error-{field}")>
                        <ErrorMessage error />
                    </div>
                }
            })
    }
}

#[component]
pub(super) fn DetailsStep() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let v = kiosk.visitor;
    let cars = move || kiosk.info.get().map(|i| i.car_models).unwrap_or_default();
    // Checked here, not by the browser: its bubbles speak the tablet's
    // language, not the one the visitor chose.
    let next = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match check_details(&v.full_name.get_untracked(), &v.birth_year.get_untracked()) {
            Ok(()) => {
                kiosk.error.set(None);
                kiosk.step.set(Step::Consent);
            }
            Err(error) => kiosk.error.set(Some(error)),
        }
    };
    let gender_button = move |value: &'static str| {
        view! {
            <button
                type="button"
                class="kiosk-chip"
                aria-pressed=move || (v.gender.get() == value).to_string()
                on:click=move |_| v.gender.set(value.to_string())
                data-gender=value
            >
                {match value {
                    "male" => t!(i18n, card.male).into_any(),
                    _ => t!(i18n, card.female).into_any(),
                }}
            </button>
        }
    };
    view! {
        <h1 class="kiosk-title">{t!(i18n, kiosk.details_title)}</h1>
        // A message about a field goes as soon as the visitor corrects it.
        <form class="kiosk-form kiosk-details" novalidate on:submit=next on:input=move |_| kiosk.error.set(None)>
            <label class="kiosk-field">
                <span>{t!(i18n, fields.full_name)}</span>
                <input
                    maxlength="120"
                    autocomplete="off"
                    prop:value=move || v.full_name.get()
                    on:input=move |ev| v.full_name.set(event_target_value(&ev))
                    data-test="kiosk-name"
                />
                <FieldError field="full_name" />
            </label>
            <label class="kiosk-field">
                <span>{t!(i18n, card.birth_year)}</span>
                <input
                    inputmode="numeric"
                    maxlength="4"
                    placeholder="1990"
                    prop:value=move || v.birth_year.get()
                    on:input=move |ev| v.birth_year.set(event_target_value(&ev))
                    data-test="kiosk-birth-year"
                />
                <FieldError field="birth_year" />
            </label>
            <fieldset class="kiosk-fieldset">
                <legend>{t!(i18n, card.gender)}</legend>
                <div class="kiosk-chips">{gender_button("male")} {gender_button("female")}</div>
            </fieldset>
            <label class="kiosk-field">
                <span>{t!(i18n, kiosk.source)}</span>
                <select on:change=move |ev| v.source.set(event_target_value(&ev)) data-test="kiosk-source">
                    {Source::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str() selected=move || v.source.get() == s.as_str()>{move || s.label(i18n.get_locale())}</option> })
                        .collect_view()}
                </select>
            </label>
            <label class="kiosk-field">
                <span>{t!(i18n, card.car)}</span>
                <select on:change=move |ev| v.car.set(event_target_value(&ev)) data-test="kiosk-car">
                    <option value="">"—"</option>
                    {move || {
                        cars()
                            .into_iter()
                            .map(|(id, name)| {
                                let value = id.to_string();
                                let selected = v.car.get() == value;
                                view! { <option value=value selected=selected>{name}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            <ServiceChoice />
            <div class="kiosk-actions">
                <button type="button" class="kiosk-button" on:click=move |_| kiosk.step.set(Step::Phone)>{t!(i18n, kiosk.back)}</button>
                <button type="submit" class="kiosk-button primary" data-test="kiosk-next">{t!(i18n, kiosk.next)}</button>
            </div>
        </form>
    }
}

#[component]
pub(super) fn ConsentStep() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let next = move |_| {
        if kiosk.visitor.consent.get_untracked() {
            kiosk.error.set(None);
            kiosk.step.set(Step::Photo);
        } else {
            kiosk.error.set(Some(AppError::invalid(
                "consent",
                crate::error::InvalidCode::Required,
            )));
        }
    };
    view! {
        <h1 class="kiosk-title">{t!(i18n, kiosk.consent_title)}</h1>
        <ConsentBox />
        <div class="kiosk-actions">
            <button type="button" class="kiosk-button" on:click=move |_| kiosk.step.set(Step::Details)>{t!(i18n, kiosk.back)}</button>
            <button type="button" class="kiosk-button primary" on:click=next data-test="kiosk-next">{t!(i18n, kiosk.next)}</button>
        </div>
    }
}

#[component]
pub(super) fn PhotoStep() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let v = kiosk.visitor;
    let video = NodeRef::<leptos::html::Video>::new();
    // None while asking, Some(false) without a camera.
    let camera_ready = RwSignal::new(None::<bool>);
    #[cfg(feature = "hydrate")]
    {
        let stream = StoredValue::new_local(None::<web_sys::MediaStream>);
        Effect::new(move |_| {
            if let Some(element) = video.get() {
                leptos::task::spawn_local(async move {
                    let started = camera::start(&element).await;
                    camera_ready.set(Some(started.is_some()));
                    stream.set_value(started);
                });
            }
        });
        on_cleanup(move || {
            if let Some(s) = stream.get_value() {
                camera::stop(&s);
            }
        });
    }
    let capture = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(element) = video.get_untracked() {
            v.photo.set(camera::capture(&element, 1280));
        }
    };
    let submit = move |with_photo: bool| {
        let form = KioskRegistration {
            submission: kiosk.submission(),
            full_name: v.full_name.get_untracked(),
            phone: v.phone(),
            birth_year: v.birth_year.get_untracked(),
            gender: v.gender.get_untracked(),
            source: v.source.get_untracked(),
            car: v.car.get_untracked(),
            services: v.services.get_untracked(),
            consent: v.consent.get_untracked(),
            consent_version: kiosk
                .info
                .get_untracked()
                .map(|i| i.consent_version)
                .unwrap_or(0),
            language: i18n.get_locale_untracked().as_str().to_string(),
            biometric: v.biometric.get_untracked(),
            photo: if with_photo {
                v.photo.get_untracked()
            } else {
                None
            },
        };
        kiosk.run(kiosk_register(form), move |done| {
            kiosk.step.set(Step::Done(done))
        });
    };
    view! {
        <h1 class="kiosk-title">{t!(i18n, kiosk.photo_title)}</h1>
        <div class="kiosk-camera">
            <video node_ref=video autoplay=true playsinline=true muted=true class:hidden=move || v.photo.get().is_some() data-test="kiosk-video"></video>
            {move || v.photo.get().map(|src| view! { <img src=src alt="" data-test="kiosk-snapshot" /> })}
            {move || (camera_ready.get() == Some(false)).then(|| view! { <p class="kiosk-lead muted">{t!(i18n, kiosk.no_camera)}</p> })}
        </div>
        <div class="kiosk-actions">
            <button type="button" class="kiosk-button" on:click=move |_| kiosk.step.set(Step::Consent)>{t!(i18n, kiosk.back)}</button>
            {move || {
                if v.photo.get().is_some() {
                    view! {
                        <button type="button" class="kiosk-button" on:click=move |_| v.photo.set(None) data-test="kiosk-retake">{t!(i18n, kiosk.retake)}</button>
                        <button type="button" class="kiosk-button primary" disabled=move || kiosk.busy.get() on:click=move |_| submit(true) data-test="kiosk-finish">{t!(i18n, kiosk.finish)}</button>
                    }
                        .into_any()
                } else {
                    view! {
                        <button type="button" class="kiosk-button" disabled=move || kiosk.busy.get() on:click=move |_| submit(false) data-test="kiosk-skip-photo">{t!(i18n, kiosk.skip_photo)}</button>
                        <button type="button" class="kiosk-button primary" disabled=move || camera_ready.get() != Some(true) on:click=capture data-test="kiosk-capture">{t!(i18n, kiosk.take_photo)}</button>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}
