//! The sign-in page, the only page anonymous visitors may see.

use leptos::prelude::*;

use super::SignIn;
use crate::i18n::*;
use crate::layout::LanguageSwitch;
use crate::ui::ActionError;

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let sign_in = ServerAction::<SignIn>::new();
    let pending = sign_in.pending();
    Effect::new(move |_| {
        if matches!(sign_in.value().get(), Some(Ok(()))) {
            // A full load, so every resource starts over as the signed-in user.
            let _ = window().location().set_href("/");
        }
    });

    view! {
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, login.title).to_string()) />
        <main class="login-page">
            <div class="login-lang">
                <LanguageSwitch />
            </div>
            <section class="card login-card">
                <div class="login-brand">
                    <span class="brand-mark big" aria-hidden="true">"AA"</span>
                    <div>
                        <h1>{t!(i18n, app_name)}</h1>
                        <p class="muted">{t!(i18n, login.subtitle)}</p>
                    </div>
                </div>
                <ActionForm action=sign_in attr:class="stack" attr:data-test="login-form">
                    <label class="field">
                        <span>{t!(i18n, login.login)}</span>
                        <input
                            name="login"
                            autocomplete="username"
                            autocapitalize="none"
                            maxlength="40"
                            required
                        />
                    </label>
                    <label class="field">
                        <span>{t!(i18n, login.password)}</span>
                        <input
                            name="password"
                            type="password"
                            autocomplete="current-password"
                            maxlength="200"
                            required
                        />
                    </label>
                    <ActionError value=sign_in.value() />
                    <button type="submit" class="button primary wide" disabled=move || pending.get()>
                        {move || {
                            if pending.get() {
                                t!(i18n, login.signing_in).into_any()
                            } else {
                                t!(i18n, login.submit).into_any()
                            }
                        }}
                    </button>
                </ActionForm>
            </section>
        </main>
    }
}
