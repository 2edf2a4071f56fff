//! The simulation behind the demo data, in memory and deterministic for a
//! seeded generator. Each client has a hidden intent that shapes how often
//! they come, what they ask for and, through a hazard that also depends on
//! what they did (test drives, credit talks, frequent recent visits …),
//! whether and when they buy.
//!
//! Longer than 400 lines on purpose: about 120 are its tests, and the rest is
//! one story (intent, visits, services, purchase) whose rules read best together.

use rand::Rng;
use uuid::Uuid;

use super::{catalogue, names};

const DAY: i64 = 86_400;

pub struct BranchInfo {
    pub id: i64,
    pub offset_minutes: i32,
    /// Opening and closing time, minutes after local midnight.
    pub opens: u32,
    pub closes: u32,
    pub share: f64,
}

pub struct Client {
    pub id: i64,
    pub branch_id: i64,
    pub full_name: String,
    pub phone: String,
    pub birth_year: i32,
    pub gender: &'static str,
    pub source: &'static str,
    pub car_model_id: i64,
    pub language: &'static str,
    pub biometric_opt_in: bool,
    pub first_visit_at: i64,
    pub last_visit_at: i64,
    pub visit_count: i64,
}

pub struct Visit {
    pub id: i64,
    pub token: Uuid,
    pub client_id: Option<i64>,
    pub branch_id: i64,
    pub entered_at: i64,
    pub left_at: Option<i64>,
    pub started_by: &'static str,
    pub ended_by: Option<&'static str>,
    pub is_first_visit: bool,
}

pub struct ServiceRequest {
    pub visit_id: i64,
    pub client_id: Option<i64>,
    pub branch_id: i64,
    pub kind: &'static str,
    pub staff_id: Option<i64>,
    pub requested_at: i64,
    pub outcome: Option<&'static str>,
}

pub struct Sale {
    pub client_id: i64,
    pub visit_id: i64,
    pub branch_id: i64,
    pub car_model_id: i64,
    pub price: i64,
    pub sold_at: i64,
    pub staff_id: Option<i64>,
}

#[derive(Default)]
pub struct World {
    pub clients: Vec<Client>,
    pub visits: Vec<Visit>,
    pub services: Vec<ServiceRequest>,
    pub sales: Vec<Sale>,
}

fn pick_weighted<'a, T, R: Rng>(rng: &mut R, items: &'a [T], weight: impl Fn(&T) -> f64) -> &'a T {
    let total: f64 = items.iter().map(&weight).sum();
    let mut x = rng.random::<f64>() * total;
    for item in items {
        x -= weight(item);
        if x <= 0.0 {
            return item;
        }
    }
    &items[items.len() - 1]
}

fn pick<'a, T, R: Rng>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn normal<R: Rng>(rng: &mut R) -> f64 {
    // Box–Muller; 1 - u keeps the logarithm finite.
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random::<f64>();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn poisson<R: Rng>(rng: &mut R, lambda: f64) -> u32 {
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut product = rng.random::<f64>();
    let mut count = 0;
    while product > limit {
        product *= rng.random::<f64>();
        count += 1;
    }
    count
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Weekday of a day number (days since 1970-01-01, a Thursday), Monday = 0.
fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

fn uuid<R: Rng>(rng: &mut R) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// A visit time on local `day` at `branch`, drawn from the hourly rhythm.
fn visit_time<R: Rng>(rng: &mut R, branch: &BranchInfo, day: i64) -> i64 {
    let open_hours = ((branch.closes - branch.opens) / 60)
        .clamp(1, catalogue::HOUR_WEIGHT.len() as u32) as usize;
    let hours: Vec<usize> = (0..open_hours).collect();
    let hour = *pick_weighted(rng, &hours, |h| catalogue::HOUR_WEIGHT[*h]);
    let minute = branch.opens as i64 + hour as i64 * 60 + rng.random_range(0..60);
    day * DAY + minute * 60 - i64::from(branch.offset_minutes) * 60
}

/// A day in `first..=last` whose weekday was accepted by the weekly rhythm.
fn visit_day<R: Rng>(rng: &mut R, first: i64, last: i64) -> i64 {
    let max_weight = catalogue::WEEKDAY_WEIGHT
        .iter()
        .cloned()
        .fold(0.0, f64::max);
    let mut day = first;
    for _ in 0..12 {
        day = rng.random_range(first..=last.max(first));
        if rng.random::<f64>() * max_weight <= catalogue::WEEKDAY_WEIGHT[weekday(day)] {
            break;
        }
    }
    day
}

struct Staffing {
    by_branch: Vec<(i64, Vec<i64>)>,
}

impl Staffing {
    fn pick<R: Rng>(&self, rng: &mut R, branch: i64) -> Option<i64> {
        self.by_branch
            .iter()
            .find(|(b, _)| *b == branch)
            .and_then(|(_, ids)| (!ids.is_empty()).then(|| *pick(rng, ids)))
    }
}

pub fn simulate<R: Rng>(
    rng: &mut R,
    client_count: usize,
    now: i64,
    branches: &[BranchInfo],
    car_models: &[(i64, i64, f64)],
    staff: &[(i64, Option<i64>)],
) -> World {
    let mut world = World::default();
    if branches.is_empty() || car_models.is_empty() {
        return world;
    }
    world.clients.reserve(client_count);
    world.visits.reserve(client_count * 11);
    world.services.reserve(client_count * 12);
    let staffing = Staffing {
        by_branch: branches
            .iter()
            .map(|b| {
                (
                    b.id,
                    staff
                        .iter()
                        .filter(|(_, sb)| *sb == Some(b.id))
                        .map(|(id, _)| *id)
                        .collect(),
                )
            })
            .collect(),
    };
    let this_year = 1970 + (now / (DAY * 36525 / 100)) as i32;
    // An odd multiplier not divisible by 5 permutes 0..10^7: phones stay unique.
    let phone_offset = rng.random_range(0..10_000_000u64);

    for index in 0..client_count {
        let id = index as i64 + 1;
        let branch = pick_weighted(rng, branches, |b| b.share);
        let male = rng.random_bool(0.62);
        let russian = rng.random_bool(0.18);
        let full_name = match (russian, male) {
            (false, true) => format!(
                "{} {}",
                pick(rng, names::UZBEK_MALE),
                pick(rng, names::UZBEK_SURNAMES)
            ),
            (false, false) => format!(
                "{} {}",
                pick(rng, names::UZBEK_FEMALE),
                names::female_surname(pick::<&str, _>(rng, names::UZBEK_SURNAMES))
            ),
            (true, true) => format!(
                "{} {}",
                pick(rng, names::RUSSIAN_MALE),
                pick(rng, names::RUSSIAN_SURNAMES)
            ),
            (true, false) => format!(
                "{} {}",
                pick(rng, names::RUSSIAN_FEMALE),
                names::female_surname(pick::<&str, _>(rng, names::RUSSIAN_SURNAMES))
            ),
        };
        let number = (index as u64 * 7_919_351 + phone_offset) % 10_000_000;
        let phone = format!("+998{}{number:07}", pick(rng, names::OPERATOR_CODES));
        let age = (36.0 + 11.0 * normal(rng)).round().clamp(18.0, 75.0) as i32;
        let source = pick_weighted(rng, catalogue::SOURCES, |s| s.1).0;
        let car = pick_weighted(rng, car_models, |m| m.2);
        // The hidden part of the intent to buy, never stored.
        let intent = normal(rng);

        // How often and over how long they come.
        let lambda = (2.15 + 0.45 * intent + 0.5 * normal(rng)).exp().min(70.0);
        let visit_count = 1 + poisson(rng, lambda).min(79) as usize;
        let offset = i64::from(branch.offset_minutes) * 60;
        let today = (now + offset).div_euclid(DAY);
        let first_day = today - 365 + (rng.random::<f64>().powf(0.8) * 365.0) as i64;
        let span = 1 + (-(1.0 - rng.random::<f64>()).ln() * 55.0) as i64;
        let last_day = (first_day + span).min(today);
        let mut times: Vec<i64> = (0..visit_count)
            .map(|k| {
                let day = if k == 0 {
                    first_day
                } else {
                    visit_day(rng, first_day, last_day)
                };
                let mut t = visit_time(rng, branch, day);
                // Nothing in the future: move it back a week at a time.
                while t > now - 3600 {
                    t -= 7 * DAY;
                }
                t
            })
            .collect();
        times.sort_unstable();
        times.dedup();

        let mut test_drives = 0u32;
        let mut credit_talks = 0u32;
        let mut trade_ins = 0u32;
        let mut purchase_talks = 0u32;
        let mut bought = false;
        let mut first_visit_at = 0;
        let mut last_visit_at = 0;
        let mut stored_visits = 0i64;
        let mut after_sale = 0;
        let mut previous: Option<i64> = None;
        for (k, &entered_at) in times.iter().enumerate() {
            if bought {
                // After buying, a client comes back at most for service.
                after_sale += 1;
                if after_sale > 2 || !rng.random_bool(0.3) {
                    break;
                }
            }
            let visit_id = world.visits.len() as i64 + 1;
            let staff_id = staffing.pick(rng, branch.id);
            let mut kinds: Vec<&'static str> = Vec::with_capacity(4);
            if bought {
                kinds.push("service");
            } else {
                if k == 0 && rng.random_bool(0.75) || k > 0 && rng.random_bool(0.25) {
                    kinds.push("consultation");
                }
                if test_drives < 2
                    && rng.random_bool(sigmoid(-2.2 + 0.7 * intent + 0.15 * k as f64))
                {
                    kinds.push("test_drive");
                    test_drives += 1;
                }
                if rng.random_bool(sigmoid(
                    -2.8 + 0.5 * intent + if car.1 > 300_000_000 { 0.6 } else { 0.0 },
                )) {
                    kinds.push("credit");
                    credit_talks += 1;
                }
                if rng.random_bool(0.04 + if age > 35 { 0.03 } else { 0.0 }) {
                    kinds.push("trade_in");
                    trade_ins += 1;
                }
                if k > 0 && rng.random_bool(sigmoid(-3.0 + 0.6 * intent + 0.2 * k as f64)) {
                    kinds.push("purchase_talk");
                    purchase_talks += 1;
                }
                if rng.random_bool(0.02) {
                    kinds.push("insurance");
                }
            }
            let mut dwell = (30.0 * (0.5 * normal(rng)).exp()) as i64 + 5;
            for kind in &kinds {
                dwell += match *kind {
                    "test_drive" => 30,
                    "credit" => 20,
                    "purchase_talk" => 15,
                    _ => 5,
                };
            }
            let local_minute = ((entered_at + offset).rem_euclid(DAY) / 60) as u32;
            let closing =
                entered_at + (i64::from(branch.closes) - i64::from(local_minute)).max(1) * 60;
            let roll = rng.random::<f64>();
            let (left_at, ended_by) = if entered_at + dwell * 60 >= closing || roll < 0.08 {
                (closing, "auto_close")
            } else if roll < 0.17 {
                (entered_at + dwell * 60, "manual")
            } else {
                (entered_at + dwell * 60, "exit_camera")
            };
            let started_by = match rng.random::<f64>() {
                x if x < 0.58 => "camera",
                x if x < 0.9 => "kiosk",
                _ => "manual",
            };
            let mut at = entered_at + 120;
            for kind in &kinds {
                at += rng.random_range(60..600);
                world.services.push(ServiceRequest {
                    visit_id,
                    client_id: Some(id),
                    branch_id: branch.id,
                    kind,
                    staff_id,
                    requested_at: at.min(left_at),
                    outcome: None,
                });
            }
            world.visits.push(Visit {
                id: visit_id,
                token: uuid(rng),
                client_id: Some(id),
                branch_id: branch.id,
                entered_at,
                left_at: Some(left_at),
                started_by,
                ended_by: Some(ended_by),
                is_first_visit: k == 0,
            });
            if k == 0 {
                first_visit_at = entered_at;
            }
            last_visit_at = entered_at;
            stored_visits += 1;

            // The hidden propensity: what they did so far, how eager they
            // are lately, and who they are.
            if !bought && k > 0 {
                let recent = previous.is_some_and(|p| entered_at - p < 10 * DAY);
                let hazard = sigmoid(
                    -8.9 + 1.0 * f64::from(test_drives.min(1))
                        + 0.5 * f64::from(test_drives.saturating_sub(1))
                        + 0.8 * f64::from(credit_talks.min(1))
                        + 0.4 * f64::from(trade_ins.min(1))
                        + 0.6 * f64::from(purchase_talks.min(2))
                        + 0.35 * ((k + 1) as f64).ln()
                        + if recent { 0.6 } else { 0.0 }
                        + if source == "referral" { 0.4 } else { 0.0 }
                        - 0.0012 * f64::from((age - 38) * (age - 38))
                        + 0.5 * intent,
                );
                if rng.random_bool(hazard.clamp(0.0, 1.0)) {
                    bought = true;
                    let price = (car.1 as f64 * rng.random_range(0.97..1.08)) as i64 / 1_000_000
                        * 1_000_000;
                    world.sales.push(Sale {
                        client_id: id,
                        visit_id,
                        branch_id: branch.id,
                        car_model_id: car.0,
                        price,
                        sold_at: entered_at + (left_at - entered_at) * 3 / 4,
                        staff_id,
                    });
                }
            }
            previous = Some(entered_at);
        }
        world.clients.push(Client {
            id,
            branch_id: branch.id,
            full_name,
            phone,
            birth_year: this_year - age,
            gender: if male { "male" } else { "female" },
            source,
            car_model_id: car.0,
            language: if russian { "ru" } else { "uz" },
            biometric_opt_in: rng.random_bool(0.7),
            first_visit_at,
            last_visit_at,
            visit_count: stored_visits,
        });
    }
    add_people_inside_now(rng, &mut world, now, branches, &staffing);
    world
}

/// A few visitors in each open showroom right now, so the dashboard is alive.
fn add_people_inside_now<R: Rng>(
    rng: &mut R,
    world: &mut World,
    now: i64,
    branches: &[BranchInfo],
    staffing: &Staffing,
) {
    for branch in branches {
        let offset = i64::from(branch.offset_minutes) * 60;
        let minute = ((now + offset).rem_euclid(DAY) / 60) as u32;
        if minute < branch.opens + 10 || minute >= branch.closes {
            continue;
        }
        let mut candidates: Vec<usize> = world
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.branch_id == branch.id && c.last_visit_at < now - DAY)
            .map(|(i, _)| i)
            .take(500)
            .collect();
        let inside = rng.random_range(3..=7).min(candidates.len());
        for slot in 0..inside + 1 {
            let since_open = i64::from(minute - branch.opens);
            let entered_at = now - rng.random_range(2..=since_open.clamp(3, 110)) * 60;
            let visit_id = world.visits.len() as i64 + 1;
            // The last slot is a stranger the camera saw but nobody registered yet.
            // Distinct clients: nobody is inside twice.
            let client = (slot < inside)
                .then(|| candidates.swap_remove(rng.random_range(0..candidates.len())));
            let client_id = client.map(|i| world.clients[i].id);
            if let Some(i) = client {
                let c = &mut world.clients[i];
                c.last_visit_at = c.last_visit_at.max(entered_at);
                c.visit_count += 1;
                if rng.random_bool(0.5) {
                    world.services.push(ServiceRequest {
                        visit_id,
                        client_id,
                        branch_id: branch.id,
                        kind: if rng.random_bool(0.4) {
                            "test_drive"
                        } else {
                            "consultation"
                        },
                        staff_id: staffing.pick(rng, branch.id),
                        requested_at: (entered_at + 300).min(now),
                        outcome: None,
                    });
                }
            }
            world.visits.push(Visit {
                id: visit_id,
                token: uuid(rng),
                client_id,
                branch_id: branch.id,
                entered_at,
                left_at: None,
                started_by: if client.is_some() { "kiosk" } else { "camera" },
                ended_by: None,
                is_first_visit: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn branches() -> Vec<BranchInfo> {
        vec![
            BranchInfo {
                id: 1,
                offset_minutes: 300,
                opens: 540,
                closes: 1200,
                share: 0.6,
            },
            BranchInfo {
                id: 2,
                offset_minutes: 300,
                opens: 540,
                closes: 1140,
                share: 0.4,
            },
        ]
    }

    fn run(seed: u64, n: usize) -> World {
        let models = vec![(1, 150_000_000, 3.0), (2, 400_000_000, 1.0)];
        let staff = vec![(10, Some(1)), (11, Some(2))];
        simulate(
            &mut ChaCha8Rng::seed_from_u64(seed),
            n,
            1_795_514_400,
            &branches(),
            &models,
            &staff,
        )
    }

    #[test]
    fn same_seed_same_world() {
        let (a, b) = (run(7, 300), run(7, 300));
        assert_eq!(a.visits.len(), b.visits.len());
        assert_eq!(a.clients[17].full_name, b.clients[17].full_name);
        assert_eq!(a.visits[123].token, b.visits[123].token);
        assert_ne!(run(8, 300).visits[5].token, a.visits[5].token);
    }

    #[test]
    fn the_world_is_believable() {
        let now = 1_795_514_400;
        let w = run(1, 3_000);
        let per_client = w.visits.len() as f64 / w.clients.len() as f64;
        assert!(
            (6.0..14.0).contains(&per_client),
            "{per_client} visits per client"
        );
        let buyers = w.sales.len() as f64 / w.clients.len() as f64;
        assert!((0.05..0.2).contains(&buyers), "{buyers} buyers");
        eprintln!("buyers {buyers:.3}, visits per client {per_client:.2}");
        let phones: std::collections::HashSet<_> = w.clients.iter().map(|c| &c.phone).collect();
        assert_eq!(phones.len(), w.clients.len());
        assert!(
            w.clients
                .iter()
                .all(|c| c.phone.starts_with("+998") && c.phone.len() == 13)
        );
        assert!(
            w.visits
                .iter()
                .all(|v| v.entered_at <= now && v.entered_at > now - 400 * DAY)
        );
        assert!(
            w.visits
                .iter()
                .all(|v| v.left_at.is_none_or(|l| l >= v.entered_at))
        );
        // Local hours stay within opening hours.
        assert!(
            w.visits
                .iter()
                .all(|v| (9..20).contains(&((v.entered_at + 5 * 3600).rem_euclid(DAY) / 3600)))
        );
        // Saturdays are busier than Mondays.
        let on = |d: usize| {
            w.visits
                .iter()
                .filter(|v| weekday((v.entered_at + 5 * 3600).div_euclid(DAY)) == d)
                .count()
        };
        assert!(on(5) > on(0), "saturday {} monday {}", on(5), on(0));
        // A test drive makes buying likelier.
        let drove: std::collections::HashSet<i64> = w
            .services
            .iter()
            .filter(|s| s.kind == "test_drive")
            .filter_map(|s| s.client_id)
            .collect();
        let bought: std::collections::HashSet<i64> = w.sales.iter().map(|s| s.client_id).collect();
        let rate = |group: &dyn Fn(i64) -> bool| {
            let members: Vec<i64> = w
                .clients
                .iter()
                .map(|c| c.id)
                .filter(|id| group(*id))
                .collect();
            members.iter().filter(|id| bought.contains(id)).count() as f64
                / members.len().max(1) as f64
        };
        assert!(rate(&|id| drove.contains(&id)) > 1.5 * rate(&|id| !drove.contains(&id)));
    }

    #[test]
    fn weekday_of_known_days() {
        assert_eq!(weekday(0), 3); // 1970-01-01, a Thursday
        assert_eq!(weekday(1_795_514_400 / DAY), 1); // 2026-11-24, a Tuesday
    }
}
