//! Local time at a branch. Each branch stores its offset east of UTC
//! (`branches.utc_offset_minutes`); every "today", "closing time" or date
//! typed by a user is read at the offset of the branch concerned. The region
//! keeps no daylight saving, so a fixed offset per zone is exact and spares a
//! time-zone database.

const DAY: i64 = 86_400;

/// The zone of a new branch, and its offset, when nobody chose another.
pub const DEFAULT_ZONE: &str = "Asia/Tashkent";
pub const DEFAULT_OFFSET_MINUTES: i32 = 300;

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

fn shift(offset_minutes: i32) -> i64 {
    i64::from(offset_minutes) * 60
}

/// The local day (days since 1970-01-01) that contains Unix time `t`.
pub fn local_day(t: i64, offset_minutes: i32) -> i64 {
    (t + shift(offset_minutes)).div_euclid(DAY)
}

/// Minutes since local midnight at `t`.
pub fn local_minute(t: i64, offset_minutes: i32) -> i64 {
    (t + shift(offset_minutes)).rem_euclid(DAY) / 60
}

/// The local hour (0–23) at `t`.
pub fn local_hour(t: i64, offset_minutes: i32) -> i64 {
    local_minute(t, offset_minutes) / 60
}

/// The Unix time at which local `day` begins.
pub fn day_start(day: i64, offset_minutes: i32) -> i64 {
    day * DAY - shift(offset_minutes)
}

/// The Unix time of the local midnight before `t`.
pub fn local_midnight(t: i64, offset_minutes: i32) -> i64 {
    day_start(local_day(t, offset_minutes), offset_minutes)
}

/// The Unix time of closing on local `day`, `closes_at` minutes after midnight.
pub fn closing_time(day: i64, closes_at: u32, offset_minutes: i32) -> i64 {
    day_start(day, offset_minutes) + i64::from(closes_at) * 60
}

/// "YYYY-MM-DD" of a local day number.
pub fn day_string(day: i64) -> String {
    crate::ui::date(day * DAY, 0)
}

/// Day number of a "YYYY-MM-DD" date.
pub fn parse_date(value: &str) -> Option<i64> {
    let mut parts = value.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > month_days[(m - 1) as usize] {
        return None;
    }
    // Days-from-civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The Unix times [start, end) of local days `from..=to`.
pub fn days_range(from: i64, to: i64, offset_minutes: i32) -> (i64, i64) {
    (
        day_start(from, offset_minutes),
        day_start(to + 1, offset_minutes),
    )
}

/// The Unix times [start, end) of the local date "YYYY-MM-DD".
pub fn date_range(value: &str, offset_minutes: i32) -> Option<(i64, i64)> {
    let day = parse_date(value)?;
    Some(days_range(day, day, offset_minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASHKENT: i32 = 300;
    const BISHKEK: i32 = 360;

    #[test]
    fn knows_tashkent_and_refuses_others() {
        assert_eq!(offset_minutes(DEFAULT_ZONE), Some(DEFAULT_OFFSET_MINUTES));
        assert_eq!(offset_minutes("Asia/Bishkek"), Some(BISHKEK));
        assert_eq!(offset_minutes("Mars/Olympus"), None);
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-11-24"), Some(1_795_514_400 / DAY));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("24-11-2026"), None);
        assert_eq!(parse_date("'; DROP TABLE visits; --"), None);
        assert_eq!(day_string(parse_date("2026-11-24").unwrap()), "2026-11-24");
    }

    #[test]
    fn days_follow_the_offset() {
        // 2026-11-24 18:30 UTC: 23:30 in Tashkent, already 00:30 on the 25th in Bishkek.
        let t = parse_date("2026-11-24").unwrap() * DAY + 18 * 3600 + 1800;
        assert_eq!(day_string(local_day(t, TASHKENT)), "2026-11-24");
        assert_eq!(local_hour(t, TASHKENT), 23);
        assert_eq!(day_string(local_day(t, BISHKEK)), "2026-11-25");
        assert_eq!(local_minute(t, BISHKEK), 30);
        assert_eq!(t - local_midnight(t, BISHKEK), 30 * 60);
        assert_eq!(t - local_midnight(t, TASHKENT), (23 * 60 + 30) * 60);
    }

    #[test]
    fn a_date_is_a_local_range() {
        let (start, end) = date_range("2026-11-25", BISHKEK).unwrap();
        // Local midnight at UTC+6 is 18:00 UTC the day before.
        assert_eq!(start, parse_date("2026-11-24").unwrap() * DAY + 18 * 3600);
        assert_eq!(end - start, DAY);
        let (tashkent_start, _) = date_range("2026-11-25", TASHKENT).unwrap();
        assert_eq!(tashkent_start - start, 3600);
        assert_eq!(date_range("yesterday", TASHKENT), None);
    }

    #[test]
    fn closing_is_local() {
        let day = parse_date("2026-11-25").unwrap();
        // 20:00 in Bishkek is 14:00 UTC, in Tashkent 15:00 UTC.
        assert_eq!(closing_time(day, 20 * 60, BISHKEK), day * DAY + 14 * 3600);
        assert_eq!(closing_time(day, 20 * 60, TASHKENT), day * DAY + 15 * 3600);
    }
}
