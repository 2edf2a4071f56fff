//! The signed-in staff member's own page: the Telegram link (a one-time code
//! for `/start CODE`) and which notifications they want.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading};
use crate::vocab::NotifyKind;

#[cfg(feature = "ssr")]
pub mod ssr;

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

/// A one-time code and where to send it: the bot by name, a t.me link that
/// opens the chat with `/start CODE` typed, and that link as a QR code for a
/// phone. Without a connected bot only the code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkCode {
    pub code: String,
    pub bot: Option<String>,
    pub link: Option<String>,
    pub qr_svg: Option<String>,
}

/// A new one-time code (valid 15 minutes) to send to the bot as `/start CODE`.
#[server(prefix = "/rpc")]
pub async fn telegram_link_code() -> Result<LinkCode, AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    let code = crate::notify::ssr::links::new_code(&state.db, user.id).await?;
    let bot = match &*state.bot.read().unwrap_or_else(|p| p.into_inner()) {
        crate::notify::BotState::Connected { username } => Some(username.clone()),
        _ => None,
    };
    let link = bot
        .as_ref()
        .map(|bot| format!("https://t.me/{bot}?start={code}"));
    let qr_svg = match &link {
        Some(link) => Some(crate::infra::site::qr_svg(link, 160)?),
        None => None,
    };
    Ok(LinkCode {
        code,
        bot,
        link,
        qr_svg,
    })
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

/// Changes the signed-in staff member's own password.
#[server(prefix = "/rpc")]
pub async fn change_own_password(
    current_password: String,
    new_password: String,
    repeat_password: String,
) -> Result<(), AppError> {
    let (_, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    let mut auth = leptos_axum::extract::<crate::auth::ssr::AuthSession>()
        .await
        .map_err(AppError::internal)?;
    let address = use_context::<axum::http::request::Parts>()
        .and_then(|parts| crate::auth::ssr::client_address(&parts.extensions));
    let change = ssr::PasswordChange {
        current: &current_password,
        new: &new_password,
        repeat: &repeat_password,
    };
    ssr::change_password(&state, &mut auth, change, address).await
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
        <section class="card" id="face">
            <h2>{t!(i18n, faces.title)}</h2>
            <crate::camera::StaffFaceCard staff_id=None back="/profile" />
        </section>
        <PasswordForm />
    }
}

/// The own-password form; it empties itself after a change.
#[component]
fn PasswordForm() -> impl IntoView {
    let i18n = use_i18n();
    let change = ServerAction::<ChangeOwnPassword>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = change.value().get()
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    let field = move |name: &'static str, label: AnyView, autocomplete: &'static str| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input name=name type="password" required maxlength="200" autocomplete=autocomplete />
            </label>
        }
    };
    view! {
        <section class="card" data-test="change-password">
            <h2>{t!(i18n, profile.password_title)}</h2>
            <p class="muted small">{t!(i18n, profile.password_hint)}</p>
            <ActionForm action=change node_ref=form attr:class="form-grid">
                {field("current_password", t!(i18n, fields.current_password).into_any(), "current-password")}
                {field("new_password", t!(i18n, fields.new_password).into_any(), "new-password")}
                {field("repeat_password", t!(i18n, fields.repeat_password).into_any(), "new-password")}
                <ActionError value=change.value() />
                {move || {
                    matches!(change.value().get(), Some(Ok(())))
                        .then(|| view! { <p class="alert alert-ok" role="status" data-test="password-changed">{t!(i18n, profile.password_changed)}</p> })
                }}
                <div class="form-actions">
                    <button type="submit" class="button primary" disabled=move || change.pending().get()>
                        {t!(i18n, profile.change_password)}
                    </button>
                </div>
            </ActionForm>
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
                .map(|c| {
                    let LinkCode { code, bot, link, qr_svg } = c;
                    let command = view! { <p class="alert alert-ok">"/start " <code class="secret" data-test="telegram-code">{code}</code></p> };
                    match (bot, link) {
                        (Some(bot), Some(link)) => {
                            let name = format!("@{bot}");
                            let (open_name, send_name) = (name.clone(), name);
                            view! {
                                <div class="link-code" data-test="telegram-bot">
                                    <div class="qr" inner_html=qr_svg.unwrap_or_default()></div>
                                    <div>
                                        <a class="button primary" href=link target="_blank" rel="noopener" data-test="telegram-open">
                                            {t!(i18n, profile.open_bot, bot = move || open_name.clone())}
                                        </a>
                                        <p class="muted small">{t!(i18n, profile.or_send, bot = move || send_name.clone())}</p>
                                        {command}
                                    </div>
                                </div>
                            }
                                .into_any()
                        }
                        _ => view! {
                            <p class="muted small" data-test="telegram-no-bot">{t!(i18n, profile.bot_not_connected)}</p>
                            {command}
                        }
                            .into_any(),
                    }
                })
        }}
    }
}
