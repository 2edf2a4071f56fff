//! The client's details as a form: the fields, editing on the card, and the
//! add-client page.

use super::*;
use crate::clients::card::{CardData, CreateClient, client_form_choices};
use crate::ui::{ActionError, ErrorMessage, Loading};
use crate::vocab::Source;

/// Name, phone, birth year, gender, source and car inputs, named for a
/// `form: ClientForm` server-function argument.
#[component]
pub(super) fn ClientFields(
    form: crate::clients::ClientForm,
    car_models: Vec<(i64, String)>,
) -> impl IntoView {
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
pub(super) fn EditClientForm(data: CardData) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<CardActions>();
    let c = data.client.clone();
    let client_id = c.id.to_string();
    let car_models = data.car_models.clone();
    let form = crate::clients::ClientForm {
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
            <ActionError value=actions.update.value() />
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
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, card.new_client).to_string()) />
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
