//! Branches on the settings page: a row per branch and the editor for its
//! name, address, time zone and working hours.

use super::*;
use crate::settings::Branch;

#[component]
pub(super) fn BranchRow(branch: Branch, time_zones: Vec<String>) -> impl IntoView {
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
pub(super) fn BranchEditor(branch: Option<Branch>, time_zones: Vec<String>) -> impl IntoView {
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
