//! The kiosk page: welcome → phone → (welcome back → check in) or
//! (details → consent → photo → register) → done, then back to welcome.

use leptos::prelude::*;

use super::{KioskDone, KioskSetup, KnownClient, camera, kiosk_info, pair_kiosk};
use crate::error::AppError;
use crate::i18n::*;
use crate::layout::LanguageSwitch;
use crate::ui::ErrorMessage;
use crate::vocab::{ServiceKind, Source};
mod steps;
pub use steps::*;
mod register;
pub use register::*;

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
    /// The pairing link was refused (used, expired or mistyped).
    link_refused: RwSignal<bool>,
    /// No greeting by face before this time (ms since the epoch).
    faces_after: RwSignal<f64>,
}

/// After the done screen, faces are not answered for this long.
const FACES_PAUSE_AFTER_DONE_MS: f64 = 15_000.0;

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
        leptos::task::spawn_local(async move { self.show(kiosk_info().await, next) });
    }

    /// The first screen, from the info fetched with the page (once: a later
    /// render of the page keeps the step the visitor is at).
    fn open(self, info: Result<KioskSetup, AppError>) {
        if self.step.get_untracked() == Step::Loading {
            self.show(info, Step::Welcome);
        }
    }

    fn show(self, info: Result<KioskSetup, AppError>, next: Step) {
        match info {
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
        link_refused: RwSignal::new(false),
        faces_after: RwSignal::new(0.0),
    };
    provide_context(kiosk);
    // The first screen comes with the page: the server asks who this tablet
    // is while rendering, so the welcome screen paints before the WASM has
    // arrived. A tablet opening its pairing link pairs first (in the browser).
    let pairing = camera::pairing_code_in_address();
    let first = Resource::new(|| (), |_| kiosk_info());
    let opening = pairing.is_none().then_some(first);

    // In the browser: pair from the link if there is one, then load.
    Effect::new(move |started: Option<()>| {
        let (None, Some(code)) = (started, pairing.clone()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            match pair_kiosk(code).await {
                Ok(()) => {
                    camera::forget_pairing_link();
                    kiosk.load(Step::Welcome);
                }
                // A refused code gets words that say what to do; other
                // errors (too many attempts, no network) say themselves.
                Err(AppError::Invalid { field, .. }) if field == "code" => {
                    kiosk.link_refused.set(true);
                    kiosk.load(Step::Welcome);
                }
                Err(error) => {
                    kiosk.error.set(Some(error));
                    kiosk.load(Step::Welcome);
                }
            }
        });
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
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, kiosk.title).to_string()) />
        <leptos_meta::Body attr:class="kiosk-body" />
        <main class="kiosk" on:pointerdown=move |_| touch() on:keydown=move |_| touch() on:input=move |_| touch() data-test="kiosk">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    if let Some(first) = opening {
                        kiosk.open(first.await);
                    }
                    view! { <Screen /> }
                })}
            </Suspense>
        </main>
    }
}

/// The branch's name, the languages, and the current step's screen with the
/// errors to show.
#[component]
fn Screen() -> impl IntoView {
    let i18n = use_i18n();
    let kiosk = expect_context::<Kiosk>();
    view! {
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
                {move || {
                    kiosk.link_refused.get().then(|| view! {
                        <div class="kiosk-error" role="alert" data-test="pairing-refused">{t!(i18n, kiosk.pairing_link_refused)}</div>
                    })
                }}
                {move || {
                    kiosk
                        .error
                        .get()
                        .filter(|e| {
                            !matches!(e, AppError::Invalid { field, .. }
                                if register::FIELDS_WITH_OWN_ERROR.contains(&field.as_str()))
                        })
                        .map(|error| view! { <div class="kiosk-error"><ErrorMessage error /></div> })
                }}
            </section>
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
