//! Server side of settings: branches, staff, API tokens and devices.

pub mod branches;
pub mod devices;
pub mod staff;
