//! Staff accounts on the settings page: a row per member with its edit,
//! reset and deactivate forms.

use super::*;
use crate::auth::Role;
use crate::settings::{Branch, StaffMember};

/// Login, name, role and branch inputs, shared by the add and edit forms.
#[component]
pub(super) fn StaffFields(member: Option<StaffMember>, branches: Vec<Branch>) -> impl IntoView {
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
pub(super) fn StaffRow(member: StaffMember, branches: Vec<Branch>) -> impl IntoView {
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
    let member_id = member.id;
    let member_name = member.full_name.clone();
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
                    <h3>{t!(i18n, faces.title_other)}</h3>
                    <crate::camera::StaffFaceCard staff_id=Some(member_id) back="/settings" />
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
                {if active {
                    let name = member_name.clone();
                    let set_active = actions.set_active;
                    view! {
                        <crate::ui::Confirm
                            label=move || t!(i18n, settings.deactivate)
                            confirm=move || t!(i18n, settings.deactivate_confirm)
                            on_confirm=Callback::new(move |_| {
                                set_active.dispatch(SetStaffActive { id: member_id, active: false });
                            })
                            test="deactivate-staff"
                        >
                            {let name = name.clone(); t!(i18n, settings.deactivate_question, name = move || name.clone())}
                        </crate::ui::Confirm>
                    }
                        .into_any()
                } else {
                    view! {
                        <ActionForm action=actions.set_active attr:class="inline-form">
                            <input type="hidden" name="id" value=toggle_id />
                            <input type="hidden" name="active" value="true" />
                            <button type="submit" class="button ghost small">{t!(i18n, settings.activate)}</button>
                        </ActionForm>
                    }
                        .into_any()
                }}
            </td>
        </tr>
    }
}
