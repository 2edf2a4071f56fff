//! The frame of every signed-in page: top bar with navigation, language
//! switch and the user's menu.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::auth::{CurrentUser, Role, SignOut, UserResource, get_current_user};
use crate::error::AppError;
use crate::i18n::*;

#[component]
pub fn AppLayout() -> impl IntoView {
    let i18n = use_i18n();
    let user: UserResource = Resource::new(|| (), |_| get_current_user());
    provide_context(user);
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if matches!(sign_out.value().get(), Some(Ok(()))) {
            let _ = window().location().set_href("/login");
        }
    });
    let menu_open = RwSignal::new(false);

    view! {
        <div class="app">
            <header class="topbar">
                // On a phone only the mark shows: the link still says where it goes.
                <a class="brand" href="/" aria-label=move || t_string!(i18n, app_name)>
                    <span class="brand-mark" aria-hidden="true">"AA"</span>
                    <span class="brand-name">{t!(i18n, app_name)}</span>
                </a>
                <button
                    class="menu-toggle"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| menu_open.update(|open| *open = !*open)
                >
                    "☰ "
                    {t!(i18n, nav.menu)}
                </button>
                <nav class="nav" class:open=move || menu_open.get() on:click=move |_| menu_open.set(false)>
                    <Transition fallback=|| ()>
                        {move || user.get().and_then(Result::ok).flatten().map(|u| view! { <NavLinks user=u /> })}
                    </Transition>
                </nav>
                <div class="topbar-right">
                    <LanguageSwitch />
                    <Transition fallback=|| ()>
                        {move || {
                            user.get()
                                .and_then(Result::ok)
                                .flatten()
                                .map(|u| view! { <span class="user-name" title=u.login.clone()>{u.full_name.clone()}</span> })
                        }}
                    </Transition>
                    <ActionForm action=sign_out attr:class="inline-form">
                        <button type="submit" class="button ghost small" data-test="sign-out">
                            {t!(i18n, nav.sign_out)}
                        </button>
                    </ActionForm>
                </div>
            </header>
            <main class="content">
                <Transition fallback=|| ()>
                    {move || match user.get() {
                        Some(Ok(None)) | Some(Err(AppError::Unauthorized)) => {
                            Some(view! { <Redirect path="/login" /> })
                        }
                        _ => None,
                    }}
                </Transition>
                <Outlet />
            </main>
        </div>
    }
}

#[component]
fn NavLinks(user: CurrentUser) -> impl IntoView {
    let i18n = use_i18n();
    let is_admin = user.role == Role::Admin;
    view! {
        <A href="/" exact=true>{t!(i18n, nav.dashboard)}</A>
        <A href="/clients">{t!(i18n, nav.clients)}</A>
        {user.role.is_manager().then(|| view! { <A href="/stats">{t!(i18n, nav.stats)}</A> })}
        {user.role.is_manager().then(|| view! { <A href="/potential">{t!(i18n, nav.potential)}</A> })}
        {is_admin.then(|| view! { <A href="/settings">{t!(i18n, nav.settings)}</A> })}
        <A href="/profile">{t!(i18n, nav.profile)}</A>
    }
}

/// Uzbek (default), Russian, English; remembered in a cookie for the server render.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let button = move |locale: Locale, label: &'static str| {
        view! {
            <button
                type="button"
                class="lang"
                data-lang=locale.as_str()
                aria-pressed=move || (i18n.get_locale() == locale).to_string()
                on:click=move |_| i18n.set_locale(locale)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="lang-switch" role="group" aria-label=move || t_string!(i18n, nav.language)>
            {button(Locale::uz, "O‘z")}
            {button(Locale::ru, "Рус")}
            {button(Locale::en, "Eng")}
        </div>
    }
}
