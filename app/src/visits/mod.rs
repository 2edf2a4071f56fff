//! Visits and the services asked for during them: one way to open a visit (card,
//! kiosk and cameras), one way to close it, sales recorded against them.

#[cfg(feature = "ssr")]
pub mod ssr;
