//! The card's documents and the erasure form.

use super::*;
use crate::clients::card::{DeleteClientDocument, DocumentEntry};
use crate::ui::{ActionError, date};
use crate::vocab::DocumentKind;

/// Documents: list, view, download, delete, and an upload form that works
/// as a plain multipart form (the server sends the browser back here).
#[component]
pub(super) fn Documents(
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
        <ActionError value=actions.delete_document.value() />
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
                                    {manager.then(|| {
                                        let file = d.file_name.clone();
                                        view! {
                                            " "
                                            <crate::ui::Confirm
                                                label=move || t!(i18n, card.delete)
                                                confirm=move || t!(i18n, card.delete_document_confirm)
                                                on_confirm=Callback::new(move |_| {
                                                    actions.delete_document.dispatch(DeleteClientDocument { client_id, id });
                                                })
                                                test="delete-document"
                                            >
                                                {let file = file.clone(); t!(i18n, card.delete_document_question, name = move || file.clone())}
                                            </crate::ui::Confirm>
                                        }
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
pub(super) fn EraseClientForm(client_id: i64) -> impl IntoView {
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
                    <ActionError value=actions.erase.value() />
                    <div class="form-actions">
                        <button type="submit" class="button danger">{t!(i18n, card.erase)}</button>
                    </div>
                </ActionForm>
            </details>
        </section>
    }
}
