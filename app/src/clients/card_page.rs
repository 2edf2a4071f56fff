//! The client card page and the add-client page.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::card::{
    AddVisitService, CancelClientSale, CardData, CheckInClient, CloseClientVisit,
    CorrectClientSale, DeleteClientDocument, EraseClient, RecordClientSale, RejectCameraMatch,
    SetClientBiometrics, UpdateClient, load_client_card,
};
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading, date};
use crate::vocab::DocumentKind;
mod forms;
pub use forms::*;
mod history;
pub use history::*;
mod documents;
pub use documents::*;
mod sales;
use sales::{SaleNotice, SaleSection, Sales};

#[derive(Clone, Copy)]
struct CardActions {
    check_in: ServerAction<CheckInClient>,
    add_service: ServerAction<AddVisitService>,
    close: ServerAction<CloseClientVisit>,
    update: ServerAction<UpdateClient>,
    sale: ServerAction<RecordClientSale>,
    correct_sale: ServerAction<CorrectClientSale>,
    cancel_sale: ServerAction<CancelClientSale>,
    sale_notice: RwSignal<Option<SaleNotice>>,
    /// The sale forms' state, kept here: a reload of the card reuses its
    /// DOM, so a form would otherwise stay open and filled after success.
    record_open: RwSignal<bool>,
    sale_price: RwSignal<String>,
    correcting: RwSignal<Option<i64>>,
    delete_document: ServerAction<DeleteClientDocument>,
    erase: ServerAction<EraseClient>,
    reject: ServerAction<RejectCameraMatch>,
    biometrics: ServerAction<SetClientBiometrics>,
}

#[component]
pub fn ClientCardPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let actions = CardActions {
        check_in: ServerAction::new(),
        add_service: ServerAction::new(),
        close: ServerAction::new(),
        update: ServerAction::new(),
        sale: ServerAction::new(),
        correct_sale: ServerAction::new(),
        cancel_sale: ServerAction::new(),
        sale_notice: RwSignal::new(None),
        record_open: RwSignal::new(false),
        sale_price: RwSignal::new(String::new()),
        correcting: RwSignal::new(None),
        delete_document: ServerAction::new(),
        erase: ServerAction::new(),
        reject: ServerAction::new(),
        biometrics: ServerAction::new(),
    };
    provide_context(actions);
    Effect::new(move |_| {
        if let Some(Ok(())) = actions.erase.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate("/clients", Default::default());
        }
    });
    // Each sale action, once it succeeded, says so above the sales.
    for (done, notice) in [
        (
            Signal::derive(move || matches!(actions.sale.value().get(), Some(Ok(_)))),
            SaleNotice::Recorded,
        ),
        (
            Signal::derive(move || matches!(actions.correct_sale.value().get(), Some(Ok(_)))),
            SaleNotice::Corrected,
        ),
        (
            Signal::derive(move || matches!(actions.cancel_sale.value().get(), Some(Ok(_)))),
            SaleNotice::Cancelled,
        ),
    ] {
        Effect::new(move |_| {
            if done.get() {
                actions.sale_notice.set(Some(notice));
                // The form that did it closes, empty, ready for the next.
                match notice {
                    SaleNotice::Recorded => {
                        actions.record_open.set(false);
                        actions.sale_price.set(String::new());
                    }
                    SaleNotice::Corrected => actions.correcting.set(None),
                    SaleNotice::Cancelled => {}
                }
            }
        });
    }
    let card = Resource::new(
        move || {
            (
                id(),
                actions.check_in.version().get(),
                actions.add_service.version().get(),
                actions.close.version().get(),
                actions.update.version().get(),
                actions.sale.version().get(),
                actions.correct_sale.version().get(),
                actions.cancel_sale.version().get(),
                actions.reject.version().get(),
                actions.biometrics.version().get(),
                actions.delete_document.version().get(),
            )
        },
        |(id, ..)| load_client_card(id),
    );
    view! {
        <Transition fallback=Loading>
            {move || {
                card.get()
                    .map(|result| match result {
                        Ok(data) => view! { <Card data /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn Card(data: CardData) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<CardActions>();
    let c = data.client.clone();
    let offset = data.offset_minutes;
    let name = c.full_name.clone().unwrap_or_else(|| "—".into());
    let open = data.open_visit().cloned();
    let documents = data.documents.clone();
    let contracts: Vec<(i64, String)> = data
        .documents
        .iter()
        .filter(|d| d.kind == DocumentKind::Contract)
        .map(|d| (d.id, d.file_name.clone()))
        .collect();
    let (is_manager, is_admin) = (data.viewer_is_manager, data.viewer_is_admin);
    let consent = match (c.consent_at, c.consent_version, c.consent_language.clone()) {
        (Some(at), Some(version), Some(lang)) => {
            let when = date(at, offset);
            view! {
                <span>{t!(i18n, card.consent_given, date = move || when.clone(), version = move || version, lang = move || lang.clone())}</span>
            }
                .into_any()
        }
        _ => view! { <span class="muted">{t!(i18n, card.consent_missing)}</span> }.into_any(),
    };
    let biometric = if c.biometric_opt_in {
        t!(i18n, card.biometric_yes).into_any()
    } else {
        t!(i18n, card.biometric_no).into_any()
    };
    // Staff switch face recognition here, with the person in front of them;
    // on needs the photo on file to be theirs.
    let can_switch_on = c.has_photo && !c.biometric_opt_in;
    let switch_to = !c.biometric_opt_in;
    let biometric_form = (c.biometric_opt_in || can_switch_on).then(|| {
        view! {
            <ActionForm action=actions.biometrics attr:class="inline-form">
                <input type="hidden" name="client_id" value=c.id />
                <input type="hidden" name="on" value=switch_to.to_string() />
                <button type="submit" class="button ghost small" data-test="biometrics-switch">
                    {if switch_to {
                        t!(i18n, card.biometric_switch_on).into_any()
                    } else {
                        t!(i18n, card.biometric_switch_off).into_any()
                    }}
                </button>
            </ActionForm>
        }
    });
    let client_id = c.id;
    let home_branch = c.branch_id;
    let (check_in_branches, viewer_branch) = (data.branches.clone(), data.viewer_branch);
    view! {
        <leptos_meta::Title text=name.clone() />
        // Parts type-erased: as one nested type the card's SSR future took
        // about 1 MiB of stack in a debug build.
        {view! {
        <header class="card-head">
            {if c.has_photo {
                view! { <img class="avatar big photo" src=format!("/api/clients/{}/photo", c.id) alt=name.clone() data-test="client-photo" /> }.into_any()
            } else {
                view! { <div class="avatar big" aria-hidden="true">{name.chars().next().unwrap_or('?').to_string()}</div> }.into_any()
            }}
            <div>
                <h1 class="page-title" data-test="client-name">{name.clone()}</h1>
                <p class="muted">
                    <span data-test="client-phone"><crate::ui::PhoneLink phone=c.phone.clone() /></span>
                    " · " {c.branch.clone()} " · " {t!(i18n, card.visits)} ": " {c.visit_count}
                </p>
            </div>
            <div class="card-head-actions">
                {match open.clone() {
                    Some(v) => {
                        view! {
                            <span class="badge returning" data-test="inside-now">{t!(i18n, card.inside_now)}</span>
                            <ActionForm action=actions.close attr:class="inline-form">
                                <input type="hidden" name="visit_id" value=v.id.to_string() />
                                <button type="submit" class="button" data-test="close-visit">{t!(i18n, card.close_visit)}</button>
                            </ActionForm>
                        }
                            .into_any()
                    }
                    None => {
                        view! {
                            <ActionForm action=actions.check_in attr:class="inline-form">
                                <input type="hidden" name="client_id" value=client_id.to_string() />
                                // A visit belongs to the branch visited: a manager picks it (their
                                // own by default); reception's is always its own (the server says so).
                                {if is_manager {
                                    let here = viewer_branch.unwrap_or(home_branch);
                                    view! {
                                        <select name="branch_id" data-test="check-in-branch" aria-label=move || t_string!(i18n, stats.branch)>
                                            {check_in_branches
                                                .iter()
                                                .map(|(id, name)| view! { <option value=id.to_string() selected=*id == here>{name.clone()}</option> })
                                                .collect_view()}
                                        </select>
                                    }
                                        .into_any()
                                } else {
                                    view! { <input type="hidden" name="branch_id" value=home_branch.to_string() /> }.into_any()
                                }}
                                <button type="submit" class="button primary" data-test="check-in">{t!(i18n, card.check_in)}</button>
                            </ActionForm>
                        }
                            .into_any()
                    }
                }}
            </div>
        </header>
        // Errors of the header's actions, right under them.
        <ActionError value=actions.check_in.value() />
        <ActionError value=actions.close.value() />
        }.into_any()}

        {open.map(|v| view! { <AddServiceForm visit=v /> })}
        <ScoreCard client_id />

        <div class="card-grid">
            {view! {
            <section class="card">
                <h2>{t!(i18n, card.details)}</h2>
                <dl class="facts">
                    <dt>{t!(i18n, card.birth_year)}</dt>
                    <dd>{c.birth_year.map(|y| y.to_string()).unwrap_or_else(|| "—".into())}</dd>
                    <dt>{t!(i18n, card.gender)}</dt>
                    <dd>
                        {match c.gender.as_deref() {
                            Some("male") => t!(i18n, card.male).into_any(),
                            Some("female") => t!(i18n, card.female).into_any(),
                            _ => "—".into_any(),
                        }}
                    </dd>
                    <dt>{t!(i18n, card.source)}</dt>
                    <dd>{let source = c.source; move || source.label(i18n.get_locale())}</dd>
                    <dt>{t!(i18n, card.car)}</dt>
                    <dd>{c.car.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>{t!(i18n, card.registered)}</dt>
                    <dd>{date(c.created_at, offset)}</dd>
                    <dt>{t!(i18n, card.consent)}</dt>
                    <dd>
                        {consent} <br /> <span class="small">{biometric}</span> {biometric_form}
                        <ActionError value=actions.biometrics.value() />
                    </dd>
                </dl>
                <details class="edit-client">
                    <summary class="button ghost small">{t!(i18n, card.edit)}</summary>
                    <EditClientForm data=data.clone() />
                </details>
            </section>
            }.into_any()}

            {view! {
            <section class="card">
                <Sales section=SaleSection {
                    client_id,
                    sales: data.sales.clone(),
                    car_models: data.car_models.clone(),
                    contracts,
                    default_car: c.car_model_id,
                    manager: is_manager,
                    offset,
                    submission: data.sale_submission.clone(),
                } />
                <Documents
                    client_id
                    documents
                    manager=is_manager
                    offset
                />
            </section>
            }.into_any()}
        </div>

        <section class="card">
            <h2>{t!(i18n, card.visits)}</h2>
            <ActionError value=actions.reject.value() />
            {if data.visits.is_empty() {
                view! { <p class="muted">{t!(i18n, card.no_visits)}</p> }.into_any()
            } else {
                view! {
                    <ol class="timeline" data-test="visits">
                        {data.visits.iter().map(|v| view! { <VisitItem visit=v.clone() offset client_id /> }).collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </section>
        {is_admin.then(|| view! { <EraseClientForm client_id /> })}
    }
    .into_any()
}

/// The purchase probability and its reasons, as the potential-buyers page shows them.
#[component]
fn ScoreCard(client_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let score = Resource::new(
        move || i18n.get_locale().as_str().to_string(),
        move |lang| crate::potential::client_score(client_id, lang),
    );
    view! {
        <Transition fallback=|| ()>
            {move || {
                score
                    .get()
                    .and_then(Result::ok)
                    .flatten()
                    .map(|(p, band, reasons)| {
                        view! {
                            <section class="card score-card" data-test="score">
                                <h2>
                                    {t!(i18n, potential.score)} ": "
                                    <span class=format!("badge band-{band}")>{format!("{:.0}%", p * 100.0)}</span> " "
                                    <crate::potential::page::BandName band=band.clone() />
                                </h2>
                                <ul class="reasons">{reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
                            </section>
                        }
                    })
            }}
        </Transition>
    }
}
