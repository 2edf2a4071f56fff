//! The time zones a branch may be in. The region keeps no daylight saving, so
//! a fixed offset per zone is exact and spares a time-zone database.

pub const ZONES: &[(&str, i32)] = &[
    ("Asia/Tashkent", 5 * 60),
    ("Asia/Samarkand", 5 * 60),
    ("Asia/Almaty", 5 * 60),
    ("Asia/Bishkek", 6 * 60),
    ("Asia/Dushanbe", 5 * 60),
    ("Asia/Ashgabat", 5 * 60),
    ("Europe/Moscow", 3 * 60),
];

/// Minutes east of UTC for `zone`, if it is one we know.
pub fn offset_minutes(zone: &str) -> Option<i32> {
    ZONES
        .iter()
        .find(|(name, _)| *name == zone)
        .map(|(_, m)| *m)
}

#[cfg(test)]
mod tests {
    #[test]
    fn knows_tashkent_and_refuses_others() {
        assert_eq!(super::offset_minutes("Asia/Tashkent"), Some(300));
        assert_eq!(super::offset_minutes("Mars/Olympus"), None);
    }
}
