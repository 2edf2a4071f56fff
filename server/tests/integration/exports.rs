//! Exports as a manager opens them in a spreadsheet: numbers and dates as
//! typed cells, headers and words in the manager's language.

use crate::common::{app_with_demo, scalar};
use axum::http::StatusCode;
use std::io::Read;

/// The named part of an XLSX file.
fn part(xlsx: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).expect("an XLSX is a zip");
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("no {name}"))
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// The `<c …>…</c>` element of cell `reference` (e.g. "A2") in a sheet.
fn cell<'a>(sheet: &'a str, reference: &str) -> &'a str {
    let start = sheet
        .find(&format!("<c r=\"{reference}\""))
        .unwrap_or_else(|| panic!("no cell {reference}"));
    let rest = &sheet[start..];
    let end = rest
        .find("</c>")
        .map_or_else(|| rest.find("/>").unwrap() + 2, |e| e + 4);
    &rest[..end]
}

#[tokio::test]
async fn xlsx_cells_are_typed_and_headers_in_the_users_language() {
    let app = app_with_demo(60).await;
    let admin = app.admin().await;

    let clients = app
        .get(
            "/api/export/clients?format=xlsx&lang=ru&sort=name",
            Some(&admin),
        )
        .await;
    assert_eq!(clients.status, StatusCode::OK, "{}", clients.body);
    let strings = part(&clients.raw, "xl/sharedStrings.xml");
    let sheet = part(&clients.raw, "xl/worksheets/sheet1.xml");
    for header in ["ФИО", "Телефон", "Год рождения", "Первый визит"]
    {
        assert!(strings.contains(header), "no header {header}");
    }
    assert!(!strings.contains("full_name"), "a code name as header");
    // Gender and source are words, not codes.
    let russian = app::i18n::Locale::ru;
    let (man, woman) = (
        app::clients::ssr::gender_word(russian, "male").unwrap(),
        app::clients::ssr::gender_word(russian, "female").unwrap(),
    );
    assert!(
        strings.contains(man) && strings.contains(woman),
        "{strings}"
    );
    assert!(!strings.contains(">male<") && !strings.contains(">female<"));
    // Id (A), visits (I) and birth year (F) are numbers; the first visit (J) a
    // date: a number with a date style. Shared strings are t="s".
    let id = cell(&sheet, "A2");
    assert!(!id.contains("t=\"s\"") && id.contains("<v>"), "{id}");
    let visits = cell(&sheet, "I2");
    assert!(!visits.contains("t=\"s\""), "{visits}");
    let first_visit = cell(&sheet, "J2");
    assert!(
        !first_visit.contains("t=\"s\"") && first_visit.contains(" s=\""),
        "{first_visit}"
    );
    let serial: f64 = first_visit
        .split("<v>")
        .nth(1)
        .and_then(|v| v.split('<').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    // An Excel date serial of this decade (2020-01-01 is 43831).
    assert!((43_831.0..51_000.0).contains(&serial), "{serial}");
    let rows = sheet.matches("<row ").count() as i64;
    assert_eq!(
        rows,
        1 + scalar(&app, "SELECT COUNT(*) FROM clients WHERE erased_at IS NULL").await
    );

    let visits = app
        .get("/api/export/visits?format=xlsx&lang=uz", Some(&admin))
        .await;
    assert_eq!(visits.status, StatusCode::OK, "{}", visits.body);
    let strings = part(&visits.raw, "xl/sharedStrings.xml");
    for header in ["Tashrif kodi", "Kelgan", "Daqiqa", "Xizmatlar"] {
        assert!(strings.contains(header), "no header {header}");
    }
    let sheet = part(&visits.raw, "xl/worksheets/sheet1.xml");
    // Date (E) and time of entry (F) are numbers with a style.
    for reference in ["E2", "F2"] {
        let c = cell(&sheet, reference);
        assert!(
            !c.contains("t=\"s\"") && c.contains(" s=\""),
            "{reference}: {c}"
        );
    }
}

#[tokio::test]
async fn csv_headers_follow_the_language_and_an_unknown_one_is_refused() {
    let app = app_with_demo(20).await;
    let admin = app.admin().await;
    let csv = app
        .get("/api/export/clients?format=csv&lang=en", Some(&admin))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let header = csv
        .body
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        header.starts_with("ID,Full name,Phone,Branch,Gender"),
        "{header}"
    );
    // Phones stay dialable: no quote before "+998".
    assert!(
        csv.body.contains(",+998"),
        "{}",
        &csv.body[..300.min(csv.body.len())]
    );
    let uz = app
        .get("/api/export/visits?format=csv&lang=uz", Some(&admin))
        .await;
    assert!(
        uz.body.contains("Tashrif kodi,Mijoz,Telefon"),
        "{}",
        &uz.body[..200.min(uz.body.len())]
    );
    let bad = app
        .get("/api/export/clients?format=csv&lang=fr", Some(&admin))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["field"], "lang");
}
