#![recursion_limit = "512"]

//! The kiosk tablet's WASM entry: hydrates the server-rendered `/kiosk`.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::KioskApp);
}
