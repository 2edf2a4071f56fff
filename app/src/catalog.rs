//! Fixed vocabularies shared by the browser and the server.

/// Kinds of service a visitor may ask for.
pub const SERVICE_KINDS: [&str; 7] = [
    "consultation",
    "test_drive",
    "credit",
    "trade_in",
    "service",
    "purchase_talk",
    "insurance",
];

/// How a client heard of the dealership.
pub const SOURCES: [&str; 8] = [
    "walk_in",
    "instagram",
    "telegram",
    "referral",
    "olx",
    "website",
    "billboard",
    "other",
];
