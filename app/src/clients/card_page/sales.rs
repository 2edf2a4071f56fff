//! The card's sales: the list, recording a sale once however often the
//! button is pressed, and correcting or cancelling one (managers).

use super::*;
use crate::clients::card::{CancelClientSale, SaleEntry};

/// What the last sale action did, shown above the list where the user looks.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum SaleNotice {
    Recorded,
    Corrected,
    Cancelled,
}

/// The sales section's data, as the card loaded it.
pub(super) struct SaleSection {
    pub client_id: i64,
    pub sales: Vec<SaleEntry>,
    pub car_models: Vec<(i64, String)>,
    pub contracts: Vec<(i64, String)>,
    pub default_car: Option<i64>,
    pub manager: bool,
    pub offset: i32,
    pub submission: String,
}

fn car_options(car_models: &[(i64, String)], selected: Option<i64>) -> impl IntoView + use<> {
    car_models
        .iter()
        .map(|(id, name)| {
            view! { <option value=id.to_string() selected=Some(*id) == selected>{name.clone()}</option> }
        })
        .collect_view()
}

#[component]
pub(super) fn Sales(section: SaleSection) -> impl IntoView {
    let i18n = use_i18n();
    let actions = expect_context::<CardActions>();
    let SaleSection {
        client_id,
        sales,
        car_models,
        contracts,
        default_car,
        manager,
        offset,
        submission,
    } = section;
    let notice = move || {
        actions.sale_notice.get().map(|n| {
            let text = match n {
                SaleNotice::Recorded => t!(i18n, card.sale_recorded).into_any(),
                SaleNotice::Corrected => t!(i18n, card.sale_corrected).into_any(),
                SaleNotice::Cancelled => t!(i18n, card.sale_cancelled).into_any(),
            };
            view! { <p class="alert alert-ok" role="status" data-test="sale-notice">{text}</p> }
        })
    };
    let list = if sales.is_empty() {
        view! { <p class="muted">{t!(i18n, card.no_sales)}</p> }.into_any()
    } else {
        let items = sales
            .into_iter()
            .map(|s| {
                let price_text = format_price(s.price);
                let car = s.car.clone().unwrap_or_default();
                let manage = manager.then(|| {
                    let (car_q, price_q) = (car.clone(), price_text.clone());
                    let sale_id = s.id;
                    let cars = car_options(&car_models, s.car_model_id);
                    view! {
                        <details class="row-edit" prop:open=move || actions.correcting.get() == Some(sale_id)>
                            <summary
                                class="button ghost small"
                                data-test="correct-sale"
                                on:click=move |ev| {
                                    ev.prevent_default();
                                    actions.correcting.update(|c| *c = if *c == Some(sale_id) { None } else { Some(sale_id) });
                                }
                            >
                                {t!(i18n, card.correct_sale)}
                            </summary>
                            <ActionForm action=actions.correct_sale attr:class="form-grid">
                                <input type="hidden" name="client_id" value=client_id />
                                <input type="hidden" name="sale_id" value=sale_id />
                                <label class="field">
                                    <span>{t!(i18n, card.car)}</span>
                                    <select name="car">{cars}</select>
                                </label>
                                <label class="field">
                                    <span>{t!(i18n, card.price)}</span>
                                    <input name="price" inputmode="numeric" required maxlength="20" value=s.price.to_string() />
                                </label>
                                <div class="form-actions">
                                    <button type="submit" class="button primary" disabled=move || actions.correct_sale.pending().get()>
                                        {t!(i18n, card.save)}
                                    </button>
                                </div>
                            </ActionForm>
                        </details>
                        <crate::ui::Confirm
                            label=move || t!(i18n, card.cancel_sale)
                            confirm=move || t!(i18n, card.cancel_sale)
                            on_confirm=Callback::new(move |_| {
                                actions.cancel_sale.dispatch(CancelClientSale { client_id, sale_id });
                            })
                            test="cancel-sale"
                        >
                            {
                                let (car_q, price_q) = (car_q.clone(), price_q.clone());
                                t!(i18n, card.cancel_sale_question, car = move || car_q.clone(), price = move || price_q.clone())
                            }
                        </crate::ui::Confirm>
                    }
                });
                view! {
                    <li>
                        <strong>{car}</strong>
                        " · " {price_text.clone()} " · " {date(s.sold_at, offset)} " · " {s.branch.clone()}
                        {s.contract_document_id.map(|d| view! {
                            " · " <a href=format!("/api/documents/{d}") target="_blank">{t!(i18n, card.contract)}</a>
                        })}
                        <span class="sale-actions">{manage}</span>
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="plain-list" data-test="sales">{items}</ul> }.into_any()
    };
    let record = manager.then(|| {
        let cars = car_options(&car_models, default_car);
        view! {
            <details data-test="record-sale" prop:open=move || actions.record_open.get()>
                <summary
                    class="button ghost small"
                    on:click=move |ev| {
                        ev.prevent_default();
                        actions.record_open.update(|o| *o = !*o);
                    }
                >
                    {t!(i18n, card.record_sale)}
                </summary>
                <ActionForm action=actions.sale attr:class="form-grid">
                    <input type="hidden" name="client_id" value=client_id.to_string() />
                    <input type="hidden" name="submission" value=submission />
                    <label class="field">
                        <span>{t!(i18n, card.car)}</span>
                        <select name="car">{cars}</select>
                    </label>
                    <label class="field">
                        <span>{t!(i18n, card.price)}</span>
                        <input
                            name="price"
                            inputmode="numeric"
                            required
                            maxlength="20"
                            prop:value=move || actions.sale_price.get()
                            on:input=move |ev| actions.sale_price.set(event_target_value(&ev))
                        />
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
                    // The error of this form, beside it (not at the foot of the page).
                    <ActionError value=actions.sale.value() />
                    <div class="form-actions">
                        <button type="submit" class="button primary" disabled=move || actions.sale.pending().get()>
                            {t!(i18n, card.save)}
                        </button>
                    </div>
                </ActionForm>
            </details>
        }
    });
    view! {
        <h2>{t!(i18n, card.sales)}</h2>
        {notice}
        <ActionError value=actions.correct_sale.value() />
        <ActionError value=actions.cancel_sale.value() />
        {list}
        {record}
    }
}
