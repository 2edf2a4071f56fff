//! The settings page: branches and staff accounts, for administrators.

use leptos::prelude::*;

use super::{
    ApiToken, Branch, CreateApiToken, CreateStaff, ResetStaffPassword, RevokeApiToken, SaveBranch,
    SetBranchBiometrics, SetStaffActive, SettingsData, StaffMember, UnlinkStaffTelegram,
    UpdateStaff, load_settings,
};
use crate::auth::Role;
use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading};

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
        <leptos_meta::Title text=move || t_string!(i18n, settings.title) />
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
    } = data;
    let branch_options = branches.clone();
    view! {
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
            <td>{token.name.clone()}</td>
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

#[component]
fn BranchRow(branch: Branch, time_zones: Vec<String>) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<Actions>();
    let hours = format!("{}–{}", branch.opens_at, branch.closes_at);
    let biometrics = branch.biometrics_enabled;
    view! {
        <tr>
            <td>{branch.name.clone()}</td>
            <td>{branch.city.clone()}</td>
            <td class="hide-sm">{branch.time_zone.clone()}</td>
            <td class="nowrap">{hours}</td>
            <td>
                <ActionForm action=actions.biometrics attr:class="inline-form">
                    <input type="hidden" name="id" value=branch.id.to_string() />
                    <input type="hidden" name="enabled" value=(!biometrics).to_string() />
                    <span class=if biometrics { "badge ok" } else { "badge muted" }>
                        {if biometrics { t!(i18n, settings.on).into_any() } else { t!(i18n, settings.off).into_any() }}
                    </span>
                    " "
                    <button type="submit" class="button ghost small" data-test="toggle-biometrics">
                        {if biometrics { t!(i18n, settings.switch_off).into_any() } else { t!(i18n, settings.switch_on).into_any() }}
                    </button>
                </ActionForm>
            </td>
            <td>
                <details class="row-edit">
                    <summary class="button ghost small">{t!(i18n, common.edit)}</summary>
                    <BranchEditor branch=Some(branch) time_zones />
                </details>
            </td>
        </tr>
    }
}

#[component]
fn BranchEditor(branch: Option<Branch>, time_zones: Vec<String>) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<Actions>();
    let b = branch.clone();
    let id = b.as_ref().map(|b| b.id.to_string()).unwrap_or_default();
    let zone = b
        .as_ref()
        .map(|b| b.time_zone.clone())
        .unwrap_or_else(|| "Asia/Tashkent".into());
    view! {
        <ActionForm action=actions.save_branch attr:class="form-grid">
            <input type="hidden" name="id" value=id />
            <label class="field">
                <span>{t!(i18n, fields.name)}</span>
                <input name="name" required maxlength="120" value=b.as_ref().map(|b| b.name.clone()) />
            </label>
            <label class="field">
                <span>{t!(i18n, fields.city)}</span>
                <input name="city" required maxlength="80" value=b.as_ref().map(|b| b.city.clone()) />
            </label>
            <label class="field">
                <span>{t!(i18n, fields.time_zone)}</span>
                <select name="time_zone">
                    {time_zones
                        .into_iter()
                        .map(|z| {
                            let selected = z == zone;
                            view! { <option value=z.clone() selected=selected>{z.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="field">
                <span>{t!(i18n, fields.opens_at)}</span>
                <input name="opens_at" type="time" required value=b.as_ref().map(|b| b.opens_at.clone()).unwrap_or_else(|| "09:00".into()) />
            </label>
            <label class="field">
                <span>{t!(i18n, fields.closes_at)}</span>
                <input name="closes_at" type="time" required value=b.as_ref().map(|b| b.closes_at.clone()).unwrap_or_else(|| "20:00".into()) />
            </label>
            <div class="form-actions">
                <button type="submit" class="button primary">{t!(i18n, common.save)}</button>
            </div>
        </ActionForm>
    }
}

/// Login, name, role and branch inputs, shared by the add and edit forms.
#[component]
fn StaffFields(member: Option<StaffMember>, branches: Vec<Branch>) -> impl IntoView {
    let i18n = use_i18n();
    let role = member.as_ref().map(|m| m.role).unwrap_or(Role::Reception);
    let branch_id = member.as_ref().and_then(|m| m.branch_id);
    view! {
        <label class="field">
            <span>{t!(i18n, fields.login)}</span>
            <input name="login" required maxlength="40" autocapitalize="none" value=member.as_ref().map(|m| m.login.clone()) />
        </label>
        <label class="field">
            <span>{t!(i18n, fields.full_name)}</span>
            <input name="full_name" required maxlength="120" value=member.as_ref().map(|m| m.full_name.clone()) />
        </label>
        <label class="field">
            <span>{t!(i18n, fields.role)}</span>
            <select name="role">
                {Role::ALL
                    .into_iter()
                    .map(|r| view! { <option value=r.as_str() selected=r == role>{move || r.label(i18n.get_locale())}</option> })
                    .collect_view()}
            </select>
        </label>
        <label class="field">
            <span>{t!(i18n, fields.branch)}</span>
            <select name="branch_id">
                <option value="" selected=branch_id.is_none()>{t!(i18n, common.no_branch)}</option>
                {branches
                    .into_iter()
                    .map(|b| view! { <option value=b.id.to_string() selected=Some(b.id) == branch_id>{b.name}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

#[component]
fn StaffRow(member: StaffMember, branches: Vec<Branch>) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<Actions>();
    let (edit_id, reset_id, toggle_id) = (
        member.id.to_string(),
        member.id.to_string(),
        member.id.to_string(),
    );
    let active = member.active;
    let linked = member.telegram_linked;
    let unlink_id = member.id.to_string();
    view! {
        <tr class:inactive=!active>
            <td>{member.full_name.clone()}</td>
            <td>{member.login.clone()}</td>
            <td>{let role = member.role; move || role.label(i18n.get_locale())}</td>
            <td class="hide-sm">{member.branch_name.clone().unwrap_or_else(|| "—".into())}</td>
            <td>
                {if active {
                    view! { <span class="badge ok">{t!(i18n, settings.active)}</span> }.into_any()
                } else {
                    view! { <span class="badge muted">{t!(i18n, settings.inactive)}</span> }.into_any()
                }}
            </td>
            <td class="row-actions">
                <details class="row-edit">
                    <summary class="button ghost small">{t!(i18n, common.edit)}</summary>
                    <ActionForm action=actions.update_staff attr:class="form-grid">
                        <input type="hidden" name="id" value=edit_id />
                        <StaffFields member=Some(member.clone()) branches />
                        <div class="form-actions">
                            <button type="submit" class="button primary">{t!(i18n, common.save)}</button>
                        </div>
                    </ActionForm>
                    <ActionForm action=actions.reset_password attr:class="form-grid">
                        <input type="hidden" name="id" value=reset_id />
                        <label class="field">
                            <span>{t!(i18n, settings.new_password)}</span>
                            <input name="password" type="password" minlength="8" maxlength="200" required autocomplete="new-password" />
                        </label>
                        <div class="form-actions">
                            <button type="submit" class="button">{t!(i18n, settings.reset_password)}</button>
                        </div>
                    </ActionForm>
                </details>
                {linked
                    .then(|| {
                        view! {
                            <ActionForm action=actions.unlink_telegram attr:class="inline-form">
                                <input type="hidden" name="id" value=unlink_id.clone() />
                                <button type="submit" class="button ghost small" data-test="unlink-telegram">
                                    {t!(i18n, settings.unlink_telegram)}
                                </button>
                            </ActionForm>
                        }
                    })}
                <ActionForm action=actions.set_active attr:class="inline-form">
                    <input type="hidden" name="id" value=toggle_id />
                    <input type="hidden" name="active" value=(!active).to_string() />
                    <button type="submit" class="button ghost small">
                        {if active {
                            t!(i18n, settings.deactivate).into_any()
                        } else {
                            t!(i18n, settings.activate).into_any()
                        }}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}
