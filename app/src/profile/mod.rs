//! The signed-in staff member's own page: the Telegram link (a one-time code
//! for `/start CODE`) and which notifications they want.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading};
use crate::vocab::NotifyKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelegramLink {
    pub linked: bool,
    pub kinds: Vec<NotifyKind>,
}

#[server(prefix = "/rpc")]
pub async fn telegram_status() -> Result<TelegramLink, AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    crate::notify::ssr::links::status(&state.db, user.id).await
}

/// A new one-time code (valid 15 minutes) to send to the bot as `/start CODE`.
#[server(prefix = "/rpc")]
pub async fn telegram_link_code() -> Result<String, AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    crate::notify::ssr::links::new_code(&state.db, user.id).await
}

/// Saves which notifications the staff member wants (unknown kinds are refused).
#[server(prefix = "/rpc")]
pub async fn save_notify_kinds(#[server(default)] kinds: Vec<String>) -> Result<(), AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    crate::notify::ssr::links::save_kinds(&state.db, user.id, &kinds).await
}

/// Unlinks the staff member's own chat.
#[server(prefix = "/rpc")]
pub async fn telegram_unlink() -> Result<(), AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    crate::settings::ssr::staff::unlink_telegram(&state.db, Some(user.id), user.id).await
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    let i18n = use_i18n();
    let code = ServerAction::<TelegramLinkCode>::new();
    let save = ServerAction::<SaveNotifyKinds>::new();
    let unlink = ServerAction::<TelegramUnlink>::new();
    let status = Resource::new(
        move || (save.version().get(), unlink.version().get()),
        |_| telegram_status(),
    );
    view! {
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, profile.title).to_string()) />
        <h1 class="page-title">{t!(i18n, profile.title)}</h1>
        <section class="card">
            <h2>{t!(i18n, profile.telegram)}</h2>
            <Transition fallback=Loading>
                {move || {
                    status
                        .get()
                        .map(|result| match result {
                            Ok(s) => {
                                view! {
                                    <div class="status-row">
                                        <span class=if s.linked { "badge ok" } else { "badge muted" } data-test="telegram-status">
                                            {if s.linked {
                                                t!(i18n, profile.linked).into_any()
                                            } else {
                                                t!(i18n, profile.not_linked).into_any()
                                            }}
                                        </span>
                                        {s.linked.then(|| view! {
                                            <ActionForm action=unlink attr:class="inline-form">
                                                <button type="submit" class="button ghost small danger">{t!(i18n, profile.unlink)}</button>
                                            </ActionForm>
                                        })}
                                    </div>
                                    {(!s.linked).then(|| view! { <LinkCode code /> })}
                                    <h3>{t!(i18n, profile.kinds_title)}</h3>
                                    <ActionForm action=save attr:class="form-stack" attr:data-test="notify-kinds">
                                        <div class="check-grid">
                                            {NotifyKind::ALL
                                                .into_iter()
                                                .enumerate()
                                                .map(|(i, k)| {
                                                    view! {
                                                        <label class="check">
                                                            <input type="checkbox" name=format!("kinds[{i}]") value=k.as_str() checked=s.kinds.contains(&k) />
                                                            <span>{move || k.label(i18n.get_locale())}</span>
                                                        </label>
                                                    }
                                                })
                                                .collect_view()}
                                        </div>
                                        <div class="form-actions">
                                            <button type="submit" class="button">{t!(i18n, profile.save_kinds)}</button>
                                        </div>
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <ErrorMessage error /> }.into_any(),
                        })
                }}
            </Transition>
            <ActionError value=code.value() />
            <ActionError value=save.value() />
            <ActionError value=unlink.value() />
        </section>
    }
}

/// The one-time code to send to the bot, for a chat not linked yet.
#[component]
fn LinkCode(code: ServerAction<TelegramLinkCode>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="muted small">{t!(i18n, profile.link_hint)}</p>
        <ActionForm action=code attr:class="inline-form">
            <button type="submit" class="button primary" data-test="link-code">{t!(i18n, profile.get_code)}</button>
        </ActionForm>
        {move || {
            code.value()
                .get()
                .and_then(Result::ok)
                .map(|c| view! { <p class="alert alert-ok">"/start " <code class="secret" data-test="telegram-code">{c}</code></p> })
        }}
    }
}
