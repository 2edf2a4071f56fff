//! The entrance and exit cameras: pairing, the face gallery, events that open and
//! close visits, "not this person", and the retention of unknown visitors' snapshots.

#[cfg(feature = "ssr")]
pub mod ssr;
