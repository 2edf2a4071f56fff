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

/// A change of the preview this large (mean grey difference, 0–255) means
/// someone is moving in front of the tablet.
#[cfg(feature = "hydrate")]
const MOTION: f64 = 4.0;
/// Frames are sent while something moved this recently, two a second at most.
#[cfg(feature = "hydrate")]
const SEND_AFTER_MOTION_MS: f64 = 3_000.0;
#[cfg(feature = "hydrate")]
const FRAME_EVERY_MS: i32 = 500;

#[component]
pub(super) fn Welcome() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let start = move |_| {
        camera::enter_fullscreen();
        kiosk.error.set(None);
        kiosk.step.set(Step::Phone);
    };
    let video = NodeRef::<leptos::html::Video>::new();
    // The preview shows once the camera runs and faces are answered here.
    let faces = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        let stream = StoredValue::new_local(None::<web_sys::MediaStream>);
        let alive = StoredValue::new(true);
        let started = StoredValue::new(false);
        Effect::new(move |_| {
            let here = kiosk.info.with(|i| i.as_ref().is_some_and(|i| i.faces));
            if let Some(element) = video.get().filter(|_| here && !started.get_value()) {
                started.set_value(true);
                leptos::task::spawn_local(async move {
                    let Some(started) = camera::start(&element).await else {
                        return;
                    };
                    if !alive.get_value() {
                        camera::stop(&started);
                        return;
                    }
                    stream.set_value(Some(started));
                    faces.set(true);
                    recognise_while_someone_is_here(element, kiosk, alive, faces).await;
                    if let Some(s) = stream.get_value() {
                        camera::stop(&s);
                    }
                });
            }
        });
        on_cleanup(move || {
            alive.set_value(false);
            if let Some(s) = stream.get_value() {
                camera::stop(&s);
            }
        });
    }
    view! {
        <h1 class="kiosk-title">{t!(i18n, kiosk.welcome_title)}</h1>
        <p class="kiosk-lead">{t!(i18n, kiosk.welcome_text)}</p>
        <div class="kiosk-face" class:off=move || !faces.get() data-test="kiosk-face">
            <video node_ref=video autoplay=true playsinline=true muted=true data-test="kiosk-face-preview"></video>
            <p class="muted small">{t!(i18n, kiosk.camera_hint)}</p>
        </div>
        <button type="button" class="kiosk-button primary huge" on:click=start data-test="kiosk-start">
            {t!(i18n, kiosk.start)}
        </button>
    }
}

/// While the welcome screen shows and something moves in front of the
/// tablet, sends a frame at most every half second and greets a recognised
/// client. Stops for good when the branch answers faces nowhere.
#[cfg(feature = "hydrate")]
async fn recognise_while_someone_is_here(
    video: web_sys::HtmlVideoElement,
    kiosk: Kiosk,
    alive: StoredValue<bool>,
    faces: RwSignal<bool>,
) {
    use crate::kiosk::{FaceAnswer, kiosk_face};
    let mut previous = Vec::new();
    let mut moved_at = f64::MIN;
    loop {
        camera::sleep(FRAME_EVERY_MS).await;
        if !alive.get_value() || kiosk.step.get_untracked() != Step::Welcome {
            return;
        }
        let now = camera::now_ms();
        if camera::motion(&video, &mut previous) > MOTION {
            moved_at = now;
        }
        if now - moved_at > SEND_AFTER_MOTION_MS || now < kiosk.faces_after.get_untracked() {
            continue;
        }
        let Some(frame) = camera::capture(&video, 640) else {
            continue;
        };
        match kiosk_face(frame).await {
            Ok(FaceAnswer::Unavailable) => {
                faces.set(false);
                return;
            }
            Ok(FaceAnswer::NotKnown) => {}
            Ok(FaceAnswer::Known(known)) => {
                if alive.get_value() && kiosk.step.get_untracked() == Step::Welcome {
                    kiosk.step.set(Step::Known(known));
                }
                return;
            }
            // Busy or unreachable: the phone path still works; try again later.
            Err(_) => camera::sleep(2_000).await,
        }
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
    // The person just served is still in front of the tablet: no greeting
    // by face for a while after this screen.
    on_cleanup(move || {
        kiosk
            .faces_after
            .set(camera::now_ms() + FACES_PAUSE_AFTER_DONE_MS)
    });
    view! {
        <h1 class="kiosk-title" data-test="kiosk-done">{t!(i18n, kiosk.done_title)}</h1>
        <p class="kiosk-lead">{t!(i18n, kiosk.done_text)}</p>
        <p class="kiosk-number" data-test="visit-number">{t!(i18n, kiosk.visit_number, n = move || number)}</p>
        <button type="button" class="kiosk-button primary" on:click=move |_| kiosk.restart()>{t!(i18n, kiosk.new_visitor)}</button>
    }
}
