//! Server-side timings on a large database (100,000 clients, ~1,000,000
//! visits by default). `make bench` creates the database once and points
//! BENCH_DATABASE_URL at it; without it the benches say so and stop.

use std::time::Duration;

use app::clients::ClientQuery;
use app::clients::ssr as clients;
use app::infra::Db;
use app::scoring::ssr as scoring;
use app::stats::ssr as stats;
use criterion::{Criterion, criterion_group, criterion_main};

fn database(rt: &tokio::runtime::Runtime) -> Option<Db> {
    let url = std::env::var("BENCH_DATABASE_URL").ok()?;
    Some(
        rt.block_on(Db::open(&url))
            .expect("the bench database opens"),
    )
}

fn queries(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = database(&rt) else {
        eprintln!("BENCH_DATABASE_URL is not set: run `make bench`");
        return;
    };
    let now = app::infra::now();
    let mut group = c.benchmark_group("queries");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(6));

    let year = rt
        .block_on(stats::load_filter(&db, "", "", "", now))
        .unwrap();
    group.bench_function("stats_one_year_all_branches", |b| {
        b.iter(|| rt.block_on(stats::compute(&db, &year)).unwrap())
    });
    let branch = rt
        .block_on(stats::load_filter(&db, "", "", "2", now))
        .unwrap();
    group.bench_function("stats_one_year_one_branch", |b| {
        b.iter(|| rt.block_on(stats::compute(&db, &branch)).unwrap())
    });
    let computed = rt.block_on(stats::compute(&db, &year)).unwrap();
    group.bench_function("stats_charts_render", |b| {
        b.iter(|| app::stats::ssr::charts::render_all(&computed, app::i18n::Locale::uz))
    });

    let search = |q: &str| {
        let query = ClientQuery {
            q: q.to_string(),
            ..Default::default()
        };
        clients::validate(&query, now).unwrap()
    };
    // Searches are cached between writes; marking a write before each run
    // measures the SQL itself (what the first request after a change costs).
    let uncached = |s: &clients::Search| {
        db.note_write();
        rt.block_on(clients::search_clients(&db, s)).unwrap()
    };
    let phone = search("90 123");
    group.bench_function("client_search_phone_fragment", |b| {
        b.iter(|| uncached(&phone))
    });
    let name = search("aziz");
    group.bench_function("client_search_name", |b| b.iter(|| uncached(&name)));
    let default = search("");
    group.bench_function("client_list_first_page", |b| b.iter(|| uncached(&default)));
    group.bench_function("client_search_name_cached", |b| {
        b.iter(|| rt.block_on(clients::search_clients(&db, &name)).unwrap())
    });
    group.finish();

    let mut model = c.benchmark_group("model");
    model
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let examples = rt
        .block_on(scoring::features::load(&db, now, true, None))
        .unwrap();
    model.bench_function(
        format!("train_both_families_{}_clients", examples.len()),
        |b| b.iter(|| scoring::model::train(&examples, None, None).unwrap()),
    );
    let trained = scoring::model::train(&examples, None, None).unwrap();
    // A million clients to score with each family: the database's clients repeated.
    let million: Vec<&[f64]> = examples
        .iter()
        .cycle()
        .take(1_000_000)
        .map(|e| e.values.as_slice())
        .collect();
    for (trained, _) in &trained.candidates {
        let name = format!("score_1000000_clients_{}", trained.family().as_str());
        model.bench_function(name, |b| {
            b.iter(|| {
                trained
                    .probabilities(&million)
                    .into_iter()
                    .filter(|p| *p > 0.5)
                    .count()
            })
        });
    }
    model.bench_function("features_from_database", |b| {
        b.iter(|| {
            rt.block_on(scoring::features::load(&db, now, true, None))
                .unwrap()
        })
    });
    model.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
