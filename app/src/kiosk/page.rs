//! The kiosk page: welcome → phone → (welcome back → check in) or
//! (details → consent → photo → register) → done, then back to welcome.

use leptos::prelude::*;

use super::{
    KioskDone, KioskRegistration, KioskSetup, KnownClient, camera, kiosk_check_in, kiosk_info,
    kiosk_lookup, kiosk_register, pair_kiosk,
};
use crate::error::AppError;
use crate::i18n::*;
use crate::layout::LanguageSwitch;
use crate::ui::{ErrorMessage, ServiceName};
use crate::vocab::{ServiceKind, Source};

/// After this long without a touch the kiosk starts over.
const IDLE_MS: f64 = 60_000.0;
/// The done screen stays this long.
const DONE_MS: f64 = 10_000.0;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Loading,
    NotPaired,
    Welcome,
    Phone,
    Known(KnownClient),
    Details,
    Consent,
    Photo,
    Done(KioskDone),
}

/// Everything the visitor has entered so far.
#[derive(Clone, Copy)]
struct Visitor {
    digits: RwSignal<String>,
    full_name: RwSignal<String>,
    birth_year: RwSignal<String>,
    gender: RwSignal<String>,
    source: RwSignal<String>,
    car: RwSignal<String>,
    services: RwSignal<Vec<String>>,
    consent: RwSignal<bool>,
    biometric: RwSignal<bool>,
    photo: RwSignal<Option<String>>,
}

impl Visitor {
    fn new() -> Self {
        Visitor {
            digits: RwSignal::new(String::new()),
            full_name: RwSignal::new(String::new()),
            birth_year: RwSignal::new(String::new()),
            gender: RwSignal::new(String::new()),
            source: RwSignal::new(Source::WalkIn.as_str().into()),
            car: RwSignal::new(String::new()),
            services: RwSignal::new(vec![ServiceKind::Consultation.as_str().into()]),
            consent: RwSignal::new(false),
            biometric: RwSignal::new(false),
            photo: RwSignal::new(None),
        }
    }

    fn clear(&self) {
        self.digits.set(String::new());
        self.full_name.set(String::new());
        self.birth_year.set(String::new());
        self.gender.set(String::new());
        self.source.set(Source::WalkIn.as_str().into());
        self.car.set(String::new());
        self.services
            .set(vec![ServiceKind::Consultation.as_str().into()]);
        self.consent.set(false);
        self.biometric.set(false);
        self.photo.set(None);
    }

    fn phone(&self) -> String {
        format!("+998{}", self.digits.get_untracked())
    }
}

/// "901234567" → "90 123 45 67"
fn format_digits(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if matches!(i, 2 | 5 | 7) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[derive(Clone, Copy)]
struct Kiosk {
    step: RwSignal<Step>,
    info: RwSignal<Option<KioskSetup>>,
    error: RwSignal<Option<AppError>>,
    busy: RwSignal<bool>,
    visitor: Visitor,
    last_touch: RwSignal<f64>,
}

impl Kiosk {
    /// Back to the welcome screen with a new submission id.
    fn restart(self) {
        self.visitor.clear();
        self.error.set(None);
        self.busy.set(false);
        self.load(Step::Welcome);
    }

    /// Fetches the kiosk's info, then shows `next` (or "not paired").
    fn load(self, next: Step) {
        leptos::task::spawn_local(async move {
            match kiosk_info().await {
                Ok(info) => {
                    self.info.set(Some(info));
                    self.step.set(next);
                }
                Err(AppError::Unauthorized) => self.step.set(Step::NotPaired),
                Err(error) => {
                    self.error.set(Some(error));
                    self.step.set(Step::NotPaired);
                }
            }
        });
    }

    /// Runs a server call with the busy flag and error display around it.
    fn run<F, T>(self, call: F, then: impl FnOnce(T) + 'static)
    where
        F: std::future::Future<Output = Result<T, AppError>> + 'static,
        T: 'static,
    {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        self.error.set(None);
        leptos::task::spawn_local(async move {
            let result = call.await;
            self.busy.set(false);
            match result {
                Ok(value) => then(value),
                Err(error) => self.error.set(Some(error)),
            }
        });
    }

    fn submission(self) -> String {
        self.info
            .get_untracked()
            .map(|i| i.submission)
            .unwrap_or_default()
    }
}

#[component]
pub fn KioskPage() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = Kiosk {
        step: RwSignal::new(Step::Loading),
        info: RwSignal::new(None),
        error: RwSignal::new(None),
        busy: RwSignal::new(false),
        visitor: Visitor::new(),
        last_touch: RwSignal::new(0.0),
    };
    provide_context(kiosk);

    // In the browser: pair from the link if there is one, then load.
    Effect::new(move |started: Option<()>| {
        if started.is_some() {
            return;
        }
        let code = leptos_router::hooks::use_query_map()
            .get_untracked()
            .get("pair")
            .filter(|c| !c.is_empty());
        match code {
            Some(code) => leptos::task::spawn_local(async move {
                match pair_kiosk(code).await {
                    Ok(()) => {
                        camera::forget_pairing_link();
                        kiosk.load(Step::Welcome);
                    }
                    Err(error) => {
                        kiosk.error.set(Some(error));
                        kiosk.load(Step::Welcome);
                    }
                }
            }),
            None => kiosk.load(Step::Welcome),
        }
    });

    // Idle: a minute without a touch mid-flow, or the done screen's time, starts over.
    Effect::new(move |_| {
        kiosk.last_touch.set(camera::now_ms());
        let handle = set_interval_with_handle(
            move || {
                let idle = camera::now_ms() - kiosk.last_touch.get_untracked();
                let restart = match kiosk.step.get_untracked() {
                    Step::Done(_) => idle > DONE_MS,
                    Step::Loading | Step::NotPaired | Step::Welcome => false,
                    _ => idle > IDLE_MS,
                };
                if restart {
                    kiosk.restart();
                }
            },
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    });
    let touch = move || kiosk.last_touch.set(camera::now_ms());

    view! {
        <leptos_meta::Title text=move || t_string!(i18n, kiosk.title) />
        <leptos_meta::Body attr:class="kiosk-body" />
        <main class="kiosk" on:pointerdown=move |_| touch() on:keydown=move |_| touch() on:input=move |_| touch() data-test="kiosk">
            <header class="kiosk-top">
                <span class="kiosk-brand">
                    {move || match kiosk.info.get() {
                        Some(info) => info.branch.into_any(),
                        None => t!(i18n, app_name).into_any(),
                    }}
                </span>
                <LanguageSwitch />
            </header>
            <section class="kiosk-screen" data-step=move || step_name(&kiosk.step.get())>
                {move || match kiosk.step.get() {
                    Step::Loading => view! { <p class="kiosk-lead muted">{t!(i18n, common.loading)}</p> }.into_any(),
                    Step::NotPaired => view! { <NotPaired /> }.into_any(),
                    Step::Welcome => view! { <Welcome /> }.into_any(),
                    Step::Phone => view! { <PhoneStep /> }.into_any(),
                    Step::Known(known) => view! { <KnownStep known /> }.into_any(),
                    Step::Details => view! { <DetailsStep /> }.into_any(),
                    Step::Consent => view! { <ConsentStep /> }.into_any(),
                    Step::Photo => view! { <PhotoStep /> }.into_any(),
                    Step::Done(done) => view! { <DoneStep done /> }.into_any(),
                }}
                {move || kiosk.error.get().map(|error| view! { <div class="kiosk-error"><ErrorMessage error /></div> })}
            </section>
        </main>
    }
}

fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Loading => "loading",
        Step::NotPaired => "not-paired",
        Step::Welcome => "welcome",
        Step::Phone => "phone",
        Step::Known(_) => "known",
        Step::Details => "details",
        Step::Consent => "consent",
        Step::Photo => "photo",
        Step::Done(_) => "done",
    }
}

#[component]
fn NotPaired() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h1 class="kiosk-title">{t!(i18n, kiosk.not_paired_title)}</h1>
        <p class="kiosk-lead">{t!(i18n, kiosk.not_paired_text)}</p>
    }
}

#[component]
fn Welcome() -> impl IntoView {
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
fn PhoneStep() -> impl IntoView {
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
fn ServiceChoice() -> impl IntoView {
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
#[component]
fn ConsentBox() -> impl IntoView {
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
}

#[component]
fn KnownStep(known: KnownClient) -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let needs_consent = !known.consent_current;
    let name = known.first_name.clone();
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
            kiosk.visitor.biometric.get_untracked(),
            i18n.get_locale_untracked().as_str().to_string(),
        );
        kiosk.run(call, move |done| kiosk.step.set(Step::Done(done)));
    };
    view! {
        <h1 class="kiosk-title" data-test="welcome-back">{t!(i18n, kiosk.welcome_back, name = move || name.clone())}</h1>
        <ServiceChoice />
        {needs_consent.then(|| view! {
            <p class="kiosk-lead">{t!(i18n, kiosk.consent_new_version)}</p>
            <ConsentBox />
        })}
        <div class="kiosk-actions">
            <button type="button" class="kiosk-button" on:click=move |_| kiosk.restart()>{t!(i18n, kiosk.back)}</button>
            <button type="button" class="kiosk-button primary" on:click=check_in disabled=move || kiosk.busy.get() data-test="kiosk-check-in">
                {t!(i18n, kiosk.check_in)}
            </button>
        </div>
    }
}

#[component]
fn DetailsStep() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    let v = kiosk.visitor;
    let cars = move || kiosk.info.get().map(|i| i.car_models).unwrap_or_default();
    let next = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        kiosk.error.set(None);
        kiosk.step.set(Step::Consent);
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
        <form class="kiosk-form" on:submit=next>
            <label class="kiosk-field">
                <span>{t!(i18n, fields.full_name)}</span>
                <input
                    required
                    maxlength="120"
                    autocomplete="off"
                    prop:value=move || v.full_name.get()
                    on:input=move |ev| v.full_name.set(event_target_value(&ev))
                    data-test="kiosk-name"
                />
            </label>
            <label class="kiosk-field">
                <span>{t!(i18n, card.birth_year)}</span>
                <input
                    required
                    inputmode="numeric"
                    maxlength="4"
                    placeholder="1990"
                    prop:value=move || v.birth_year.get()
                    on:input=move |ev| v.birth_year.set(event_target_value(&ev))
                    data-test="kiosk-birth-year"
                />
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
fn ConsentStep() -> impl IntoView {
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
fn PhotoStep() -> impl IntoView {
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
            v.photo.set(camera::capture(&element));
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

#[component]
fn DoneStep(done: KioskDone) -> impl IntoView {
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
