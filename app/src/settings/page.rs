//! The settings page: branches and staff accounts, for administrators.

use leptos::prelude::*;

use crate::camera::VisionState;
use crate::notify::BotState;
use crate::settings::AuthorityLink;

use super::{
    ApiToken, CreateApiToken, CreateStaff, ResetStaffPassword, RevokeApiToken, SaveBranch,
    SetBranchBiometrics, SetStaffActive, SettingsData, UnlinkStaffTelegram, UpdateStaff,
    load_settings,
};
use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading};
mod staff;
pub use staff::*;
mod branches;
pub use branches::*;

#[derive(Clone, Copy)]
struct Actions {
    save_branch: ServerAction<SaveBranch>,
    create_staff: ServerAction<CreateStaff>,
    update_staff: ServerAction<UpdateStaff>,
    set_active: ServerAction<SetStaffActive>,
    reset_password: ServerAction<ResetStaffPassword>,
    create_token: ServerAction<CreateApiToken>,
    revoke_token: ServerAction<RevokeApiToken>,
    unlink_telegram: ServerAction<UnlinkStaffTelegram>,
    biometrics: ServerAction<SetBranchBiometrics>,
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let actions = Actions {
        save_branch: ServerAction::new(),
        create_staff: ServerAction::new(),
        update_staff: ServerAction::new(),
        set_active: ServerAction::new(),
        reset_password: ServerAction::new(),
        create_token: ServerAction::new(),
        revoke_token: ServerAction::new(),
        unlink_telegram: ServerAction::new(),
        biometrics: ServerAction::new(),
    };
    provide_context(actions);
    let data = Resource::new(
        move || {
            (
                actions.save_branch.version().get(),
                actions.create_staff.version().get(),
                actions.update_staff.version().get(),
                actions.set_active.version().get(),
                actions.create_token.version().get(),
                actions.revoke_token.version().get(),
                actions.unlink_telegram.version().get(),
                actions.biometrics.version().get(),
            )
        },
        |_| load_settings(),
    );
    view! {
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, settings.title).to_string()) />
        <h1 class="page-title">{t!(i18n, settings.title)}</h1>
        <Transition fallback=Loading>
            {move || {
                data.get()
                    .map(|result| match result {
                        Ok(data) => view! { <SettingsBody data /> }.into_any(),
                        Err(AppError::Forbidden) => {
                            view! { <p class="alert alert-error">{t!(i18n, settings.only_admins)}</p> }.into_any()
                        }
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn SettingsBody(data: SettingsData) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<Actions>();
    let SettingsData {
        branches,
        staff,
        time_zones,
        tokens,
        bot,
        vision,
        authority,
    } = data;
    let branch_options = branches.clone();
    let bot = match bot {
        BotState::Off => t!(i18n, settings.bot_off).into_any(),
        BotState::Connecting => t!(i18n, settings.bot_connecting).into_any(),
        BotState::Connected { username } => t!(
            i18n,
            settings.bot_connected,
            name = move || username.clone()
        )
        .into_any(),
        BotState::TokenRefused => t!(i18n, settings.bot_token_refused).into_any(),
        BotState::Unreachable => t!(i18n, settings.bot_unreachable).into_any(),
    };
    let vision = match vision {
        VisionState::Off => t!(i18n, settings.vision_off).into_any(),
        VisionState::WaitingForConfig => t!(i18n, settings.vision_waiting).into_any(),
        VisionState::Running { restarts: 0 } => t!(i18n, settings.vision_running).into_any(),
        VisionState::Running { restarts } => t!(
            i18n,
            settings.vision_running_restarted,
            count = move || restarts
        )
        .into_any(),
        VisionState::Restarting { restarts } => {
            t!(i18n, settings.vision_restarting, count = move || restarts).into_any()
        }
        VisionState::NotInstalled => t!(i18n, settings.vision_not_installed).into_any(),
        VisionState::Finished => t!(i18n, settings.vision_finished).into_any(),
    };
    let authority = authority.map(|AuthorityLink { link, qr_svg }| {
        view! {
            <section class="card" data-test="authority">
                <h2>{t!(i18n, settings.authority)}</h2>
                <p class="muted">{t!(i18n, settings.authority_hint)}</p>
                <div class="qr" inner_html=qr_svg></div>
                <p>
                    <a href=link.clone() data-test="authority-link">{link.clone()}</a>
                </p>
            </section>
        }
    });
    view! {
        <p class="muted" data-test="bot-state">{t!(i18n, settings.bot)} ": " {bot}</p>
        <p class="muted" data-test="vision-state">{t!(i18n, settings.vision)} ": " {vision}</p>
        // The running build, to tell support and to check an upgrade took.
        <p class="muted small" data-test="version">
            {t!(i18n, settings.version)} ": " {env!("CARGO_PKG_VERSION")}
        </p>
        <section class="card">
            <h2>{t!(i18n, settings.branches)}</h2>
            <div class="table-wrap">
                <table class="table" data-test="branch-table">
                    <thead>
                        <tr>
                            <th>{t!(i18n, fields.name)}</th>
                            <th>{t!(i18n, fields.city)}</th>
                            <th class="hide-sm">{t!(i18n, fields.time_zone)}</th>
                            <th>{t!(i18n, settings.hours)}</th>
                            <th>{t!(i18n, settings.biometrics)}</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>
                        {branches
                            .into_iter()
                            .map(|b| view! { <BranchRow branch=b time_zones=time_zones.clone() /> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <details class="add-form">
                <summary class="button ghost">{t!(i18n, settings.add_branch)}</summary>
                <BranchEditor branch=None time_zones=time_zones.clone() />
            </details>
            <ActionError value=actions.save_branch.value() />
            <ActionError value=actions.biometrics.value() />
        </section>
        {authority}

        <section class="card">
            <h2>{t!(i18n, settings.staff)}</h2>
            <ActionError value=actions.set_active.value() />
            <ActionError value=actions.unlink_telegram.value() />
            <ActionError value=actions.update_staff.value() />
            <ActionError value=actions.reset_password.value() />
            {move || {
                matches!(actions.reset_password.value().get(), Some(Ok(())))
                    .then(|| view! { <p class="alert alert-ok">{t!(i18n, settings.password_reset_done)}</p> })
            }}
            <div class="table-wrap">
                <table class="table" data-test="staff-table">
                    <thead>
                        <tr>
                            <th>{t!(i18n, fields.full_name)}</th>
                            <th>{t!(i18n, fields.login)}</th>
                            <th>{t!(i18n, fields.role)}</th>
                            <th class="hide-sm">{t!(i18n, fields.branch)}</th>
                            <th>{t!(i18n, fields.status)}</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>
                        {staff
                            .into_iter()
                            .map(|s| view! { <StaffRow member=s branches=branch_options.clone() /> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <details class="add-form">
                <summary class="button ghost">{t!(i18n, settings.add_staff)}</summary>
                <ActionForm action=actions.create_staff attr:class="form-grid" attr:data-test="add-staff">
                    <StaffFields member=None branches=branch_options.clone() />
                    <label class="field">
                        <span>{t!(i18n, settings.initial_password)}</span>
                        <input name="password" type="password" minlength="8" maxlength="200" required autocomplete="new-password" />
                    </label>
                    <div class="form-actions">
                        <button type="submit" class="button primary">{t!(i18n, common.save)}</button>
                    </div>
                </ActionForm>
            </details>
            <ActionError value=actions.create_staff.value() />
        </section>
        <crate::camera::StaffPresence />

        <section class="card">
            <h2>{t!(i18n, settings.api_tokens)}</h2>
            <p class="muted small">{t!(i18n, settings.api_tokens_hint)}</p>
            {move || {
                actions
                    .create_token
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|secret| {
                        view! {
                            <div class="alert alert-ok">
                                {t!(i18n, settings.token_shown_once)}
                                <code class="secret" data-test="new-token">{secret}</code>
                            </div>
                        }
                    })
            }}
            <div class="table-wrap">
                <table class="table" data-test="token-table">
                    <tbody>
                        {tokens.into_iter().map(|t| view! { <TokenRow token=t /> }).collect_view()}
                    </tbody>
                </table>
            </div>
            <ActionForm action=actions.create_token attr:class="form-grid">
                <label class="field">
                    <span>{t!(i18n, fields.name)}</span>
                    <input name="name" required maxlength="120" />
                </label>
                <label class="checkbox">
                    <input type="checkbox" name="read_only" data-test="token-read-only" />
                    <span>{t!(i18n, settings.token_read_only)}</span>
                </label>
                <div class="form-actions">
                    <button type="submit" class="button primary">{t!(i18n, settings.create_token)}</button>
                </div>
            </ActionForm>
            <ActionError value=actions.create_token.value() />
            <ActionError value=actions.revoke_token.value() />
        </section>

        <super::devices::DevicesSection />
    }
}

#[component]
fn TokenRow(token: ApiToken) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<Actions>();
    let used = token
        .last_used_at
        .map(|t| crate::ui::date(t, token.offset_minutes))
        .unwrap_or_else(|| "—".into());
    view! {
        <tr class:inactive=token.revoked>
            <td>
                {token.name.clone()}
                {token.read_only.then(|| view! { " " <span class="badge">{t!(i18n, settings.read_only_badge)}</span> })}
            </td>
            <td>{token.owner.clone()}</td>
            <td class="hide-sm">{crate::ui::date(token.created_at, token.offset_minutes)}</td>
            <td class="hide-sm">{used}</td>
            <td>
                {if token.revoked {
                    view! { <span class="badge muted">{t!(i18n, settings.revoked)}</span> }.into_any()
                } else {
                    view! {
                        <ActionForm action=actions.revoke_token attr:class="inline-form">
                            <input type="hidden" name="id" value=token.id.to_string() />
                            <button type="submit" class="button ghost small">{t!(i18n, settings.revoke)}</button>
                        </ActionForm>
                    }
                        .into_any()
                }}
            </td>
        </tr>
    }
}
