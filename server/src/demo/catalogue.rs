//! The network and catalogue the demo data describes.

/// (name, city, time zone, opens, closes, share of clients)
pub const BRANCHES: &[(&str, &str, &str, &str, &str, f64)] = &[
    (
        "Toshkent — Chilonzor",
        "Toshkent",
        "Asia/Tashkent",
        "09:00",
        "20:00",
        0.5,
    ),
    (
        "Samarqand",
        "Samarqand",
        "Asia/Samarkand",
        "09:00",
        "19:00",
        0.3,
    ),
    ("Andijon", "Andijon", "Asia/Tashkent", "09:00", "19:00", 0.2),
];

/// (brand, model, segment, base price in UZS, popularity)
pub const CAR_MODELS: &[(&str, &str, &str, i64, f64)] = &[
    ("Chevrolet", "Cobalt", "sedan", 152_000_000, 16.0),
    ("Chevrolet", "Nexia", "budget", 139_000_000, 12.0),
    ("Chevrolet", "Tracker", "suv", 232_000_000, 11.0),
    ("Chevrolet", "Onix", "sedan", 183_000_000, 10.0),
    ("Chevrolet", "Malibu", "premium", 385_000_000, 5.0),
    ("Chevrolet", "Captiva", "suv", 335_000_000, 4.0),
    ("Chevrolet", "Damas", "commercial", 98_000_000, 6.0),
    ("Chevrolet", "Labo", "commercial", 104_000_000, 2.0),
    ("Chevrolet", "Spark", "budget", 112_000_000, 5.0),
    ("Chevrolet", "Equinox", "suv", 410_000_000, 2.0),
    ("Chevrolet", "Tahoe", "premium", 1_150_000_000, 0.7),
    ("BYD", "Song Plus", "electric", 415_000_000, 5.0),
    ("BYD", "Chazor", "electric", 310_000_000, 4.0),
    ("BYD", "Han", "electric", 520_000_000, 1.5),
    ("Kia", "K5", "sedan", 395_000_000, 3.0),
    ("Kia", "Sportage", "suv", 420_000_000, 2.5),
    ("Hyundai", "Tucson", "suv", 430_000_000, 2.0),
    ("Hyundai", "Elantra", "sedan", 330_000_000, 2.0),
    ("Chery", "Tiggo 7 Pro", "suv", 300_000_000, 2.5),
    ("Haval", "Jolion", "suv", 290_000_000, 2.0),
];

/// (source, share)
pub const SOURCES: &[(&str, f64)] = &[
    ("walk_in", 35.0),
    ("instagram", 20.0),
    ("telegram", 15.0),
    ("referral", 12.0),
    ("olx", 8.0),
    ("website", 6.0),
    ("billboard", 4.0),
];

/// Relative traffic per weekday, Monday first: weekends are busiest.
pub const WEEKDAY_WEIGHT: [f64; 7] = [0.8, 0.8, 0.85, 0.9, 1.0, 1.5, 1.3];

/// Relative traffic per opening hour from 09:00: late morning and after work.
pub const HOUR_WEIGHT: [f64; 11] = [3.0, 5.0, 8.0, 9.0, 8.0, 6.0, 6.0, 8.0, 9.0, 7.0, 4.0];

pub const CONSENT_TEXTS: &[(&str, &str)] = &[
    (
        "uz",
        "Men shaxsiy ma’lumotlarim (ism, telefon, tug‘ilgan yil, rasm) avtosalon tomonidan xizmat ko‘rsatish va aloqa uchun saqlanishiga roziman. Istalgan vaqtda o‘chirishni so‘rashim mumkin.",
    ),
    (
        "ru",
        "Я согласен(на) на хранение моих персональных данных (имя, телефон, год рождения, фото) автосалоном для обслуживания и связи со мной. Я могу в любой момент потребовать их удаления.",
    ),
    (
        "en",
        "I agree that the dealership stores my personal data (name, phone, birth year, photo) to serve and contact me. I may ask for it to be erased at any time.",
    ),
];
