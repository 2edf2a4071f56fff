//! The card's visit history: each visit with its services and sale, and the
//! form that adds a service.

use super::*;
use crate::clients::card::VisitEntry;
use crate::ui::{ActionError, ServiceName, clock, date};
use crate::vocab::ServiceKind;

#[component]
pub(super) fn AddServiceForm(visit: VisitEntry) -> impl IntoView {
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
                <ActionError value=actions.add_service.value() />
                <div class="form-actions">
                    <button type="submit" class="button primary">{t!(i18n, card.add_service)}</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub(super) fn VisitItem(visit: VisitEntry, offset: i32, client_id: i64) -> impl IntoView {
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
pub(super) fn format_price(price: i64) -> String {
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
