//! The client card page and the add-client page.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::card::{
    AddVisitService, CardData, CheckInClient, CloseClientVisit, CreateClient, DeleteClientDocument,
    DocumentEntry, EraseClient, RecordClientSale, RejectCameraMatch, UpdateClient, VisitEntry,
    client_form_choices, load_client_card,
};
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading, ServiceName, clock, date};
use crate::vocab::{DocumentKind, ServiceKind, Source};

#[derive(Clone, Copy)]
struct CardActions {
    check_in: ServerAction<CheckInClient>,
    add_service: ServerAction<AddVisitService>,
    close: ServerAction<CloseClientVisit>,
    update: ServerAction<UpdateClient>,
    sale: ServerAction<RecordClientSale>,
    delete_document: ServerAction<DeleteClientDocument>,
    erase: ServerAction<EraseClient>,
    reject: ServerAction<RejectCameraMatch>,
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
        delete_document: ServerAction::new(),
        erase: ServerAction::new(),
        reject: ServerAction::new(),
    };
    provide_context(actions);
    Effect::new(move |_| {
        if let Some(Ok(())) = actions.erase.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate("/clients", Default::default());
        }
    });
    let card = Resource::new(
        move || {
            (
                id(),
                actions.check_in.version().get(),
                actions.add_service.version().get(),
                actions.close.version().get(),
                actions.update.version().get(),
                actions.sale.version().get(),
                actions.reject.version().get(),
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
        <div class="action-errors">
            <ActionError value=actions.check_in.value() />
            <ActionError value=actions.add_service.value() />
            <ActionError value=actions.close.value() />
            <ActionError value=actions.reject.value() />
            <ActionError value=actions.update.value() />
            <ActionError value=actions.sale.value() />
            <ActionError value=actions.delete_document.value() />
            <ActionError value=actions.erase.value() />
        </div>
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
    let client_id = c.id;
    let home_branch = c.branch_id;
    view! {
        <leptos_meta::Title text=name.clone() />
        <header class="card-head">
            {if c.has_photo {
                view! { <img class="avatar big photo" src=format!("/api/clients/{}/photo", c.id) alt=name.clone() data-test="client-photo" /> }.into_any()
            } else {
                view! { <div class="avatar big" aria-hidden="true">{name.chars().next().unwrap_or('?').to_string()}</div> }.into_any()
            }}
            <div>
                <h1 class="page-title" data-test="client-name">{name.clone()}</h1>
                <p class="muted">
                    <span class="nowrap" data-test="client-phone">{c.phone.clone().unwrap_or_default()}</span>
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
                                <input type="hidden" name="branch_id" value=home_branch.to_string() />
                                <button type="submit" class="button primary" data-test="check-in">{t!(i18n, card.check_in)}</button>
                            </ActionForm>
                        }
                            .into_any()
                    }
                }}
            </div>
        </header>

        {open.map(|v| view! { <AddServiceForm visit=v /> })}
        <ScoreCard client_id />

        <div class="card-grid">
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
                    <dd>{consent} <br /> <span class="small">{biometric}</span></dd>
                </dl>
                <details class="edit-client">
                    <summary class="button ghost small">{t!(i18n, card.edit)}</summary>
                    <EditClientForm data=data.clone() />
                </details>
            </section>

            <section class="card">
                <h2>{t!(i18n, card.sales)}</h2>
                {if data.sales.is_empty() {
                    view! { <p class="muted">{t!(i18n, card.no_sales)}</p> }.into_any()
                } else {
                    view! {
                        <ul class="plain-list" data-test="sales">
                            {data
                                .sales
                                .iter()
                                .map(|s| {
                                    view! {
                                        <li>
                                            <strong>{s.car.clone().unwrap_or_default()}</strong>
                                            " · " {format_price(s.price)} " · " {date(s.sold_at, offset)} " · "
                                            {s.branch.clone()}
                                            {s.contract_document_id.map(|d| view! {
                                                " · " <a href=format!("/api/documents/{d}") target="_blank">{t!(i18n, card.contract)}</a>
                                            })}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }}
                <details>
                    <summary class="button ghost small">{t!(i18n, card.record_sale)}</summary>
                    <ActionForm action=actions.sale attr:class="form-grid">
                        <input type="hidden" name="client_id" value=client_id.to_string() />
                        <label class="field">
                            <span>{t!(i18n, card.car)}</span>
                            <select name="car">
                                {data
                                    .car_models
                                    .iter()
                                    .map(|(id, name)| {
                                        view! { <option value=id.to_string() selected=Some(*id) == c.car_model_id>{name.clone()}</option> }
                                    })
                                    .collect_view()}
                            </select>
                        </label>
                        <label class="field">
                            <span>{t!(i18n, card.price)}</span>
                            <input name="price" inputmode="numeric" required maxlength="20" />
                        </label>
                        <label class="field">
                            <span>{t!(i18n, card.contract)}</span>
                            <select name="contract">
                                <option value="">"—"</option>
                                {contracts
                                    .into_iter()
                                    .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> })
                                    .collect_view()}
                            </select>
                        </label>
                        <div class="form-actions">
                            <button type="submit" class="button primary">{t!(i18n, card.save)}</button>
                        </div>
                    </ActionForm>
                </details>
                <Documents
                    client_id
                    documents
                    manager=is_manager
                    offset
                />
            </section>
        </div>

        <section class="card">
            <h2>{t!(i18n, card.visits)}</h2>
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
}

/// Documents: list, view, download, delete, and an upload form that works
/// as a plain multipart form (the server sends the browser back here).
#[component]
fn Documents(
    client_id: i64,
    documents: Vec<DocumentEntry>,
    manager: bool,
    offset: i32,
) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<CardActions>();
    let query = leptos_router::hooks::use_query_map();
    let notice = move || {
        let q = query.read();
        if q.get("uploaded").is_some() {
            return Some(view! { <p class="alert alert-ok" data-test="upload-ok">{t!(i18n, card.upload_ok)}</p> }.into_any());
        }
        q.get("upload_error").map(|code| {
            let text = match code.as_str() {
                "too_large" => t!(i18n, card.upload_too_large).into_any(),
                "type" => t!(i18n, card.upload_bad_type).into_any(),
                "missing" => t!(i18n, card.upload_missing).into_any(),
                "forbidden" => t!(i18n, errors.forbidden).into_any(),
                _ => t!(i18n, card.upload_failed).into_any(),
            };
            view! { <p class="alert alert-error" role="alert" data-test="upload-error">{text}</p> }
                .into_any()
        })
    };
    view! {
        <h2 class="spaced" id="documents">{t!(i18n, card.documents)}</h2>
        {notice}
        {if documents.is_empty() {
            view! { <p class="muted">{t!(i18n, card.no_documents)}</p> }.into_any()
        } else {
            view! {
                <ul class="plain-list documents" data-test="documents">
                    {documents
                        .into_iter()
                        .map(|d| {
                            let id = d.id;
                            let restricted = d.kind == DocumentKind::Passport && !manager;
                            view! {
                                <li>
                                    {let kind = d.kind; move || kind.label(i18n.get_locale())} ": "
                                    {if restricted {
                                        view! { <span>{d.file_name.clone()}</span> }.into_any()
                                    } else {
                                        view! {
                                            <a href=format!("/api/documents/{id}") target="_blank" rel="noopener">{d.file_name.clone()}</a>
                                            " · "
                                            <a href=format!("/api/documents/{id}?download=1") class="small">{t!(i18n, card.download)}</a>
                                        }
                                            .into_any()
                                    }}
                                    <span class="muted small">" · " {t!(i18n, card.size_kb, n = move || (d.size_bytes + 1023) / 1024)} " · " {date(d.uploaded_at, offset)}</span>
                                    {manager.then(|| view! {
                                        " "
                                        <button
                                            type="button"
                                            class="button ghost small danger"
                                            on:click=move |_| { actions.delete_document.dispatch(DeleteClientDocument { client_id, id }); }
                                        >
                                            {t!(i18n, card.delete)}
                                        </button>
                                    })}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
                .into_any()
        }}
        <form
            method="post"
            enctype="multipart/form-data"
            action=format!("/api/clients/{client_id}/documents")
            class="form-grid"
            data-test="upload-document"
        >
            <label class="field">
                <span>{t!(i18n, card.document_kind)}</span>
                <select name="kind">
                    {DocumentKind::ALL
                        .into_iter()
                        .map(|k| view! { <option value=k.as_str()>{move || k.label(i18n.get_locale())}</option> })
                        .collect_view()}
                </select>
            </label>
            <label class="field">
                <span>{t!(i18n, card.file_hint)}</span>
                <input type="file" name="file" required accept=".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png" />
            </label>
            <div class="form-actions">
                <button type="submit" class="button">{t!(i18n, card.upload)}</button>
            </div>
        </form>
    }
}

/// Erasure on the client's request (admins): a deliberate two-step form.
#[component]
fn EraseClientForm(client_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<CardActions>();
    view! {
        <section class="card danger-zone">
            <details>
                <summary class="button ghost small danger">{t!(i18n, card.erase)}</summary>
                <p class="small">{t!(i18n, card.erase_hint)}</p>
                <ActionForm action=actions.erase attr:class="form-grid" attr:data-test="erase-client">
                    <input type="hidden" name="id" value=client_id.to_string() />
                    <label class="check">
                        <input type="checkbox" name="confirm" value="on" required />
                        <span>{t!(i18n, card.erase_confirm)}</span>
                    </label>
                    <div class="form-actions">
                        <button type="submit" class="button danger">{t!(i18n, card.erase)}</button>
                    </div>
                </ActionForm>
            </details>
        </section>
    }
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

#[component]
fn AddServiceForm(visit: VisitEntry) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<CardActions>();
    view! {
        <section class="card highlight">
            <h2>{t!(i18n, card.add_service)}</h2>
            <ActionForm action=actions.add_service attr:class="form-grid" attr:data-test="add-service">
                <input type="hidden" name="visit_id" value=visit.id.to_string() />
                <label class="field">
                    <span>{t!(i18n, card.service_kind)}</span>
                    <select name="kind" data-test="service-kind">
                        {ServiceKind::ALL
                            .into_iter()
                            .map(|k| view! { <option value=k.as_str()><ServiceName kind=k /></option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span>{t!(i18n, card.note)}</span>
                    <input name="note" maxlength="500" />
                </label>
                <div class="form-actions">
                    <button type="submit" class="button primary">{t!(i18n, card.add_service)}</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn VisitItem(visit: VisitEntry, offset: i32, client_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<CardActions>();
    let minutes = visit.left_at.map(|l| (l - visit.entered_at) / 60);
    view! {
        <li class="timeline-item" class:open=visit.left_at.is_none()>
            <div class="timeline-when">
                <strong>{date(visit.entered_at, offset)}</strong>
                " " {clock(visit.entered_at, offset)} " – "
                {visit.left_at.map(|l| clock(l, offset)).unwrap_or_else(|| "…".into())}
                {minutes.map(|n| view! { <span class="muted">" (" {t!(i18n, card.duration, n = move || n)} ")"</span> })}
            </div>
            <div class="muted small">
                {visit.branch.clone()} " · " {t!(i18n, card.started_by)} ": " {let started_by = visit.started_by; move || started_by.label(i18n.get_locale())}
                {visit
                    .ended_by
                    .map(|e| view! { " · " {t!(i18n, card.ended_by)} ": " {move || e.label(i18n.get_locale())} })}
            </div>
            {visit
                .camera_match
                .map(|(event_id, similarity)| {
                    let percent = similarity.map(|s| (s * 100.0).round() as i64).unwrap_or(0);
                    view! {
                        <div class="camera-match small">
                            <span>{t!(i18n, card.camera_match, percent = move || percent)}</span>
                            <ActionForm action=actions.reject attr:class="inline-form">
                                <input type="hidden" name="client_id" value=client_id.to_string() />
                                <input type="hidden" name="event_id" value=event_id.to_string() />
                                <button type="submit" class="button small" data-test="not-this-person">
                                    {t!(i18n, card.not_this_person)}
                                </button>
                            </ActionForm>
                        </div>
                    }
                })}
            <div class="chips left">
                {visit
                    .services
                    .into_iter()
                    .map(|s| {
                        view! {
                            <span class="chip" title=s.note.clone().unwrap_or_default()>
                                <ServiceName kind=s.kind />
                                {s.staff.clone().map(|st| view! { <span class="muted">" · " {st}</span> })}
                            </span>
                        }
                    })
                    .collect_view()}
            </div>
        </li>
    }
}

/// "152 000 000 UZS"
fn format_price(price: i64) -> String {
    let digits = price.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(ch);
    }
    format!("{out} UZS")
}

/// Name, phone, birth year, gender, source and car inputs, named for a
/// `form: ClientForm` server-function argument.
#[component]
fn ClientFields(form: super::ClientForm, car_models: Vec<(i64, String)>) -> impl IntoView {
    let i18n = use_i18n();
    let gender = form.gender.clone();
    let source = Source::parse(&form.source).unwrap_or(Source::WalkIn);
    let car = form.car.clone();
    view! {
        <label class="field">
            <span>{t!(i18n, fields.full_name)}</span>
            <input name="form[full_name]" required maxlength="120" value=form.full_name.clone() />
        </label>
        <label class="field">
            <span>{t!(i18n, card.phone)}</span>
            <input name="form[phone]" type="tel" required maxlength="20" placeholder="+998 90 123 45 67" value=form.phone.clone() />
        </label>
        <label class="field">
            <span>{t!(i18n, card.birth_year)}</span>
            <input name="form[birth_year]" inputmode="numeric" maxlength="4" value=form.birth_year.clone() />
        </label>
        <label class="field">
            <span>{t!(i18n, card.gender)}</span>
            <select name="form[gender]">
                <option value="" selected=gender.is_empty()>"—"</option>
                <option value="male" selected=gender == "male">{t!(i18n, card.male)}</option>
                <option value="female" selected=gender == "female">{t!(i18n, card.female)}</option>
            </select>
        </label>
        <label class="field">
            <span>{t!(i18n, card.source)}</span>
            <select name="form[source]">
                {Source::ALL
                    .into_iter()
                    .map(|s| view! { <option value=s.as_str() selected=s == source>{move || s.label(i18n.get_locale())}</option> })
                    .collect_view()}
            </select>
        </label>
        <label class="field">
            <span>{t!(i18n, card.car)}</span>
            <select name="form[car]">
                <option value="" selected=car.is_empty()>"—"</option>
                {car_models
                    .into_iter()
                    .map(|(id, name)| view! { <option value=id.to_string() selected=id.to_string() == car>{name}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

#[component]
fn EditClientForm(data: CardData) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<CardActions>();
    let c = data.client.clone();
    let client_id = c.id.to_string();
    let car_models = data.car_models.clone();
    let form = super::ClientForm {
        full_name: c.full_name.clone().unwrap_or_default(),
        phone: c.phone.clone().unwrap_or_default(),
        birth_year: c.birth_year.map(|y| y.to_string()).unwrap_or_default(),
        gender: c.gender.clone().unwrap_or_default(),
        source: c.source.as_str().to_string(),
        car: c.car_model_id.map(|id| id.to_string()).unwrap_or_default(),
    };
    view! {
        <ActionForm action=actions.update attr:class="form-grid">
            <input type="hidden" name="id" value=client_id />
            <ClientFields form car_models />
            <div class="form-actions">
                <button type="submit" class="button primary">{t!(i18n, card.save)}</button>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn NewClientPage() -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateClient>::new();
    let choices = Resource::new(|| (), |_| client_form_choices());
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate(&format!("/clients/{id}"), Default::default());
        }
    });
    view! {
        <leptos_meta::Title text=move || t_string!(i18n, card.new_client) />
        <h1 class="page-title">{t!(i18n, card.add_client)}</h1>
        <Transition fallback=Loading>
            {move || {
                choices
                    .get()
                    .map(|result| match result {
                        Ok(choices) => {
                            view! {
                                <section class="card">
                                    <ActionForm action=create attr:class="form-grid" attr:data-test="new-client">
                                        <ClientFields form=Default::default() car_models=choices.car_models.clone() />
                                        <label class="field">
                                            <span>{t!(i18n, card.branch)}</span>
                                            <select name="branch_id">
                                                {choices
                                                    .branches
                                                    .iter()
                                                    .map(|(id, name)| {
                                                        view! { <option value=id.to_string() selected=Some(*id) == choices.own_branch>{name.clone()}</option> }
                                                    })
                                                    .collect_view()}
                                            </select>
                                        </label>
                                        <label class="check">
                                            <input type="checkbox" name="check_in" value="on" checked=true />
                                            <span>{t!(i18n, card.check_in_now)}</span>
                                        </label>
                                        <div class="form-actions">
                                            <button type="submit" class="button primary">{t!(i18n, card.save)}</button>
                                        </div>
                                    </ActionForm>
                                    <ActionError value=create.value() />
                                </section>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}
