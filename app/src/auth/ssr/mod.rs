//! Server side of signing in: the axum-login backend and the access rules.

pub mod access;
pub mod backend;
mod sign_in;

pub use access::{Need, Scope, Staff, admit, admit_camera, app_state, require, require_kiosk};
pub use backend::{AuthSession, StaffBackend, StaffUser};
pub use sign_in::{client_address, sign_in};
