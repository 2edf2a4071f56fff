//! Server side of settings: branches, staff, API tokens and devices.

pub mod api_tokens;
pub mod branches;
pub mod devices;
pub mod staff;
