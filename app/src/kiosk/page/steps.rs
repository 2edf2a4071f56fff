//! The kiosk's short steps: welcome, phone, a returning visitor's check-in,
//! the service chips, the consent box and the done screen.

use super::*;
use crate::error::AppError;
use crate::kiosk::{KioskDone, KnownClient, camera, kiosk_check_in, kiosk_lookup};
use crate::ui::ServiceName;
use crate::vocab::ServiceKind;

#[component]
pub(super) fn NotPaired() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h1 class="kiosk-title">{t!(i18n, kiosk.not_paired_title)}</h1>
        <p class="kiosk-lead">{t!(i18n, kiosk.not_paired_text)}</p>
    }
}

#[component]
pub(super) fn Welcome() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let start = move |_| {
        camera::enter_fullscreen();
        kiosk.error.set(None);
        kiosk.step.set(Step::Phone);
    };
    view! {
        <h1 class="kiosk-title">{t!(i18n, kiosk.welcome_title)}</h1>
        <p class="kiosk-lead">{t!(i18n, kiosk.welcome_text)}</p>
        <button type="button" class="kiosk-button primary huge" on:click=start data-test="kiosk-start">
            {t!(i18n, kiosk.start)}
        </button>
    }
}

#[component]
pub(super) fn PhoneStep() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let digits = kiosk.visitor.digits;
    let on_input = move |ev| {
        let typed: String = event_target_value(&ev)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        // A visitor may type the 998 country code too.
        let typed = if typed.len() > 9 && typed.starts_with("998") {
            typed[3..].to_string()
        } else {
            typed
        };
        digits.set(typed.chars().take(9).collect());
    };
    let next = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let phone = kiosk.visitor.phone();
        kiosk.run(kiosk_lookup(phone), move |found| match found {
            Some(known) => kiosk.step.set(Step::Known(known)),
            None => kiosk.step.set(Step::Details),
        });
    };
    view! {
        <h1 class="kiosk-title">{t!(i18n, kiosk.phone_title)}</h1>
        <form class="kiosk-form" on:submit=next>
            <label class="kiosk-phone">
                <span class="kiosk-prefix">"+998"</span>
                <input
                    type="tel"
                    inputmode="numeric"
                    autocomplete="off"
                    placeholder="90 123 45 67"
                    aria-label=move || t_string!(i18n, kiosk.phone_title)
                    prop:value=move || format_digits(&digits.get())
                    on:input=on_input
                    data-test="kiosk-phone"
                />
            </label>
            <div class="kiosk-actions">
                <button type="button" class="kiosk-button" on:click=move |_| kiosk.restart()>{t!(i18n, kiosk.back)}</button>
                <button
                    type="submit"
                    class="kiosk-button primary"
                    disabled=move || digits.get().len() != 9 || kiosk.busy.get()
                    data-test="kiosk-next"
                >
                    {t!(i18n, kiosk.next)}
                </button>
            </div>
        </form>
    }
}

/// Big toggle chips for the services a visitor came for.
#[component]
pub(super) fn ServiceChoice() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let services = kiosk.visitor.services;
    view! {
        <fieldset class="kiosk-fieldset">
            <legend>{t!(i18n, kiosk.services)}</legend>
            <div class="kiosk-chips">
                {ServiceKind::ALL
                    .into_iter()
                    .map(|service| {
                        let kind = service.as_str().to_string();
                        let chosen = {
                            let kind = kind.clone();
                            move || services.get().contains(&kind)
                        };
                        let toggle = {
                            let kind = kind.clone();
                            move |_| {
                                services
                                    .update(|s| {
                                        if let Some(i) = s.iter().position(|x| *x == kind) {
                                            s.remove(i);
                                        } else {
                                            s.push(kind.clone());
                                        }
                                    })
                            }
                        };
                        view! {
                            <button
                                type="button"
                                class="kiosk-chip"
                                aria-pressed=move || chosen().to_string()
                                on:click=toggle
                                data-service=kind.clone()
                            >
                                <ServiceName kind=service />
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
        </fieldset>
    }
}

/// The consent text in the visitor's language with the two separate choices.
/// A returning client is told that face recognition is switched on at
/// reception: whoever types a number here may not be its owner.
#[component]
pub(super) fn ConsentBox(#[prop(optional)] returning: bool) -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let text = move || {
        let lang = i18n.get_locale().as_str().to_string();
        kiosk
            .info
            .get()
            .map(|info| {
                info.consent_texts
                    .iter()
                    .find(|(l, _)| *l == lang)
                    .or_else(|| info.consent_texts.first())
                    .map(|(_, body)| body.clone())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    };
    view! {
        <div class="kiosk-consent" data-test="consent-text">{text}</div>
        <label class="kiosk-check">
            <input
                type="checkbox"
                prop:checked=move || kiosk.visitor.consent.get()
                on:change=move |ev| kiosk.visitor.consent.set(event_target_checked(&ev))
                data-test="consent-agree"
            />
            <span>{t!(i18n, kiosk.consent_agree)}</span>
        </label>
        {if returning {
            view! {
                <p class="kiosk-note" data-test="biometric-at-reception">
                    {t!(i18n, kiosk.biometric_at_reception)}
                </p>
            }
                .into_any()
        } else {
            view! {
                <label class="kiosk-check">
                    <input
                        type="checkbox"
                        prop:checked=move || kiosk.visitor.biometric.get()
                        on:change=move |ev| kiosk.visitor.biometric.set(event_target_checked(&ev))
                        data-test="consent-biometric"
                    />
                    <span>{t!(i18n, kiosk.consent_biometric)}</span>
                </label>
            }
                .into_any()
        }}
    }
}

#[component]
pub(super) fn KnownStep(known: KnownClient) -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let needs_consent = !known.consent_current;
    let name = known.first_name.clone();
    let recognition = known.recognition.clone();
    let by_face = recognition.is_some();
    let check_in = move |_| {
        if needs_consent && !kiosk.visitor.consent.get_untracked() {
            kiosk.error.set(Some(AppError::invalid(
                "consent",
                crate::error::InvalidCode::Required,
            )));
            return;
        }
        let consent_version = needs_consent
            .then(|| kiosk.info.get_untracked().map(|i| i.consent_version))
            .flatten();
        let call = kiosk_check_in(
            kiosk.submission(),
            kiosk.visitor.phone(),
            kiosk.visitor.services.get_untracked(),
            consent_version,
            i18n.get_locale_untracked().as_str().to_string(),
            recognition.clone(),
        );
        kiosk.run(call, move |done| kiosk.step.set(Step::Done(done)));
    };
    view! {
        <h1 class="kiosk-title" data-test="welcome-back">
            {if by_face {
                t!(i18n, kiosk.is_this_you, name = move || name.clone()).into_any()
            } else {
                t!(i18n, kiosk.welcome_back, name = move || name.clone()).into_any()
            }}
        </h1>
        <ServiceChoice />
        {needs_consent.then(|| view! {
            <p class="kiosk-lead">{t!(i18n, kiosk.consent_new_version)}</p>
            <ConsentBox returning=true />
        })}
        <div class="kiosk-actions">
            // Someone else's number (a typo, a family phone): back to the
            // number, emptied, and nothing of that client stays on screen.
            <button
                type="button"
                class="kiosk-button"
                data-test="kiosk-not-me"
                on:click=move |_| {
                    kiosk.visitor.digits.set(String::new());
                    kiosk.error.set(None);
                    kiosk.step.set(Step::Phone);
                }
            >
                {if by_face { t!(i18n, kiosk.no_not_me).into_any() } else { t!(i18n, kiosk.not_me).into_any() }}
            </button>
            <button type="button" class="kiosk-button primary" on:click=check_in disabled=move || kiosk.busy.get() data-test="kiosk-check-in">
                {if by_face { t!(i18n, kiosk.yes_check_in).into_any() } else { t!(i18n, kiosk.check_in).into_any() }}
            </button>
        </div>
    }
}

#[component]
pub(super) fn DoneStep(done: KioskDone) -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let number = done.visit_id;
    view! {
        <h1 class="kiosk-title" data-test="kiosk-done">{t!(i18n, kiosk.done_title)}</h1>
        <p class="kiosk-lead">{t!(i18n, kiosk.done_text)}</p>
        <p class="kiosk-number" data-test="visit-number">{t!(i18n, kiosk.visit_number, n = move || number)}</p>
        <button type="button" class="kiosk-button primary" on:click=move |_| kiosk.restart()>{t!(i18n, kiosk.new_visitor)}</button>
    }
}
