//! Consent texts, documents (passports, contracts) and erasure of a client.

#[cfg(feature = "ssr")]
pub mod ssr;
