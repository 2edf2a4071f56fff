//! Server side of signing in: the axum-login backend and the access rules.

pub mod access;
pub mod backend;

pub use access::{app_state, require_role, require_user};
pub use backend::{AuthSession, StaffBackend, StaffUser};
