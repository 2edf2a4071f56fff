//! The purchase model: features, training, scoring and the reasons behind a score.

#[cfg(feature = "ssr")]
pub mod ssr;
