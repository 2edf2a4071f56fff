//! The kiosk's browser-only helpers: the tablet camera (from [`crate::webcam`]),
//! fullscreen, timers. On the server these do nothing: the kiosk page renders
//! without them.

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen_futures::JsFuture;

    pub use crate::webcam::{capture, motion, start, stop};

    /// Waits `ms` milliseconds.
    pub async fn sleep(ms: i32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = JsFuture::from(promise).await;
    }

    /// Fullscreen on the first touch; a browser that refuses keeps the page as it is.
    pub fn enter_fullscreen() {
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            && web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.fullscreen_element().is_none())
        {
            let _ = root.request_fullscreen();
        }
    }

    /// Milliseconds since the epoch, for the idle timer.
    pub fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    /// The `pair` code of the address (`/kiosk?pair=…`), if any: the kiosk
    /// app has no router to read it from.
    pub fn pairing_code_in_address() -> Option<String> {
        let search = web_sys::window()?.location().search().ok()?;
        let value = search
            .trim_start_matches('?')
            .split('&')
            .find_map(|pair| pair.strip_prefix("pair="))?;
        let code = js_sys::decode_uri_component(value).ok()?.as_string()?;
        (!code.is_empty()).then_some(code)
    }

    /// Drops `?pair=…` from the address bar once the tablet is paired.
    pub fn forget_pairing_link() {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ =
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/kiosk"));
        }
    }
}

#[cfg(feature = "hydrate")]
pub use browser::*;

#[cfg(not(feature = "hydrate"))]
mod server_side {
    pub fn enter_fullscreen() {}
    pub fn now_ms() -> f64 {
        0.0
    }
    pub fn forget_pairing_link() {}
    /// The `pair` code of the address the page is rendered for.
    pub fn pairing_code_in_address() -> Option<String> {
        #[cfg(feature = "ssr")]
        {
            let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
            parts
                .uri
                .query()?
                .split('&')
                .find_map(|pair| pair.strip_prefix("pair="))
                .filter(|code| !code.is_empty())
                .map(str::to_string)
        }
        #[cfg(not(feature = "ssr"))]
        None
    }
}

#[cfg(not(feature = "hydrate"))]
pub use server_side::*;
