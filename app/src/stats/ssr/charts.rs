//! The statistics charts, drawn on the server as SVG with plotters. Every
//! chart has a title, axis descriptions and a legend in the user's language.
//!
//! Longer than 400 lines on purpose: the eight charts share one style (colours,
//! axes, legends, sizes) that is kept consistent by keeping them in one place.

use plotters::prelude::*;

use crate::i18n::*;
use crate::stats::{Chart, Stats};

const WIDTH: u32 = 720;
const HEIGHT: u32 = 340;
const BRAND: RGBColor = RGBColor(15, 61, 94);
const ACCENT: RGBColor = RGBColor(244, 185, 66);
const GREEN: RGBColor = RGBColor(31, 138, 76);
const PURPLE: RGBColor = RGBColor(106, 63, 181);
const LIGHT: RGBColor = RGBColor(236, 242, 247);

/// One series of a bar chart: legend name, colour, one value per category.
struct Series<'a> {
    name: &'a str,
    color: RGBColor,
    values: Vec<i64>,
}

/// A round upper bound for the y axis.
fn y_limit(max: i64) -> i64 {
    let max = max.max(1);
    let magnitude = 10i64.pow((max as f64).log10().floor() as u32);
    let steps = [1, 2, 5, 10];
    steps
        .iter()
        .map(|s| s * magnitude)
        .find(|limit| *limit >= max + max / 20)
        .unwrap_or(10 * magnitude)
}

/// Bars per category; several series are stacked.
fn bar_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    categories: &[String],
    series: &[Series],
) -> String {
    let n = categories.len().max(1);
    let totals: Vec<i64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let y_max = y_limit(totals.iter().copied().max().unwrap_or(0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22).into_font().color(&BRAND))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(66)
            .build_cartesian_2d((0..(n as i32 - 1).max(1)).into_segmented(), 0i64..y_max)
        else {
            return svg_fallback(title);
        };
        let every = n.div_ceil(12).max(1);
        let _ = chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(n.min(40))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if (*i as usize).is_multiple_of(every) => {
                    categories.get(*i as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 15))
            .draw();
        let mut base = vec![0i64; n];
        for s in series {
            let color = s.color;
            let bars: Vec<Rectangle<(SegmentValue<i32>, i64)>> = (0..n)
                .map(|i| {
                    let value = s.values.get(i).copied().unwrap_or(0);
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(i as i32), base[i]),
                            (SegmentValue::Exact(i as i32 + 1), base[i] + value),
                        ],
                        color.filled(),
                    );
                    bar.set_margin(0, 0, 2, 2);
                    base[i] += value;
                    bar
                })
                .collect();
            if let Ok(drawn) = chart.draw_series(bars) {
                drawn.label(s.name).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            }
        }
        let _ = chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.2))
            .label_font(("sans-serif", 14))
            .draw();
        let _ = root.present();
    }
    svg
}

fn line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    legend: &str,
    labels: &[String],
    values: &[i64],
) -> String {
    let n = values.len().max(2);
    let y_max = y_limit(values.iter().copied().max().unwrap_or(0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22).into_font().color(&BRAND))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(66)
            .build_cartesian_2d(0i32..(n as i32 - 1), 0i64..y_max)
        else {
            return svg_fallback(title);
        };
        let _ = chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(8)
            .x_label_formatter(&|i| labels.get(*i as usize).cloned().unwrap_or_default())
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 15))
            .draw();
        if let Ok(drawn) = chart.draw_series(LineSeries::new(
            values.iter().enumerate().map(|(i, v)| (i as i32, *v)),
            BRAND.stroke_width(2),
        )) {
            drawn
                .label(legend)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], BRAND.stroke_width(2)));
        }
        let _ = chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.2))
            .label_font(("sans-serif", 14))
            .draw();
        let _ = root.present();
    }
    svg
}

fn heatmap(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    legend: &str,
    weekdays: &[String],
    grid: &[Vec<i64>],
) -> String {
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22).into_font().color(&BRAND))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(66)
            .build_cartesian_2d((0i32..23).into_segmented(), (0i32..6).into_segmented())
        else {
            return svg_fallback(title);
        };
        let _ = chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(24)
            .y_labels(7)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(h) if h % 2 == 0 => format!("{h}"),
                _ => String::new(),
            })
            // Monday at the top.
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(d) => {
                    weekdays.get((6 - *d) as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 15))
            .draw();
        let cells: Vec<Rectangle<(SegmentValue<i32>, SegmentValue<i32>)>> = grid
            .iter()
            .enumerate()
            .flat_map(|(day, hours)| {
                hours.iter().enumerate().map(move |(hour, value)| {
                    let t = *value as f64 / max;
                    let mix = |a: u8, b: u8| {
                        (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8
                    };
                    let color = RGBColor(
                        mix(LIGHT.0, BRAND.0),
                        mix(LIGHT.1, BRAND.1),
                        mix(LIGHT.2, BRAND.2),
                    );
                    let y = 6 - day as i32;
                    let mut cell = Rectangle::new(
                        [
                            (SegmentValue::Exact(hour as i32), SegmentValue::Exact(y)),
                            (
                                SegmentValue::Exact(hour as i32 + 1),
                                SegmentValue::Exact(y + 1),
                            ),
                        ],
                        color.filled(),
                    );
                    cell.set_margin(1, 1, 1, 1);
                    cell
                })
            })
            .collect();
        if let Ok(drawn) = chart.draw_series(cells) {
            drawn
                .label(legend)
                .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], BRAND.filled()));
        }
        let _ = chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.2))
            .label_font(("sans-serif", 14))
            .draw();
        let _ = root.present();
    }
    svg
}

fn svg_fallback(title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\"><text x=\"20\" y=\"40\">{}</text></svg>",
        title.replace('&', "&amp;").replace('<', "&lt;")
    )
}

pub fn weekday_labels(locale: Locale) -> Vec<String> {
    [
        td_string!(locale, stats.mon),
        td_string!(locale, stats.tue),
        td_string!(locale, stats.wed),
        td_string!(locale, stats.thu),
        td_string!(locale, stats.fri),
        td_string!(locale, stats.sat),
        td_string!(locale, stats.sun),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// New and returning visits summed per week (a year of days is too dense to read).
pub fn weekly(stats: &Stats) -> Vec<(String, i64, i64)> {
    stats
        .per_day
        .chunks(7)
        .map(|week| {
            (
                week[0].date.clone(),
                week.iter().map(|d| d.new).sum(),
                week.iter().map(|d| d.returning).sum(),
            )
        })
        .collect()
}

pub fn render_all(stats: &Stats, locale: Locale) -> Vec<Chart> {
    let chart = |key: &str, title: &str, svg: String| Chart {
        key: key.to_string(),
        title: title.to_string(),
        svg,
    };
    let days: Vec<String> = stats
        .per_day
        .iter()
        .map(|d| d.date[5..].to_string())
        .collect();
    let per_day: Vec<i64> = stats.per_day.iter().map(|d| d.visits).collect();
    let hours: Vec<String> = (0..24).map(|h| format!("{h}")).collect();
    let bands: Vec<String> = stats.age_gender.iter().map(|a| a.band.clone()).collect();
    let services: Vec<String> = stats
        .services
        .iter()
        .map(|(k, _)| k.label(locale).to_string())
        .collect();
    let steps: Vec<String> = [
        td_string!(locale, stats.step_visited),
        td_string!(locale, stats.step_test_drive),
        td_string!(locale, stats.step_credit),
        td_string!(locale, stats.step_bought),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let funnel = &stats.funnel;
    let dwell: Vec<String> = stats.dwell.iter().map(|(l, _)| l.clone()).collect();
    let weeks = weekly(stats);
    let week_labels: Vec<String> = weeks.iter().map(|w| w.0[5..].to_string()).collect();

    let title_per_day = td_string!(locale, stats.chart_per_day);
    let title_by_hour = td_string!(locale, stats.chart_by_hour);
    let title_heatmap = td_string!(locale, stats.chart_heatmap);
    let title_age = td_string!(locale, stats.chart_age_gender);
    let title_services = td_string!(locale, stats.chart_services);
    let title_funnel = td_string!(locale, stats.chart_funnel);
    let title_dwell = td_string!(locale, stats.chart_dwell);
    let title_new = td_string!(locale, stats.chart_new_returning);
    vec![
        chart(
            "per_day",
            title_per_day,
            line_chart(
                title_per_day,
                td_string!(locale, stats.axis_date),
                td_string!(locale, stats.axis_visits),
                td_string!(locale, stats.legend_visits),
                &days,
                &per_day,
            ),
        ),
        chart(
            "by_hour",
            title_by_hour,
            bar_chart(
                title_by_hour,
                td_string!(locale, stats.axis_hour),
                td_string!(locale, stats.axis_visits),
                &hours,
                &[Series {
                    name: td_string!(locale, stats.legend_visits),
                    color: BRAND,
                    values: stats.by_hour.clone(),
                }],
            ),
        ),
        chart(
            "weekday_hour",
            title_heatmap,
            heatmap(
                title_heatmap,
                td_string!(locale, stats.axis_hour),
                td_string!(locale, stats.axis_weekday),
                td_string!(locale, stats.legend_heat),
                &weekday_labels(locale),
                &stats.weekday_hour,
            ),
        ),
        chart(
            "new_returning",
            title_new,
            bar_chart(
                title_new,
                td_string!(locale, stats.axis_week),
                td_string!(locale, stats.axis_visits),
                &week_labels,
                &[
                    Series {
                        name: td_string!(locale, stats.legend_new),
                        color: PURPLE,
                        values: weeks.iter().map(|w| w.1).collect(),
                    },
                    Series {
                        name: td_string!(locale, stats.legend_returning),
                        color: GREEN,
                        values: weeks.iter().map(|w| w.2).collect(),
                    },
                ],
            ),
        ),
        chart(
            "age_gender",
            title_age,
            bar_chart(
                title_age,
                td_string!(locale, stats.axis_age),
                td_string!(locale, stats.axis_clients),
                &bands,
                &[
                    Series {
                        name: td_string!(locale, stats.legend_male),
                        color: BRAND,
                        values: stats.age_gender.iter().map(|a| a.male).collect(),
                    },
                    Series {
                        name: td_string!(locale, stats.legend_female),
                        color: ACCENT,
                        values: stats.age_gender.iter().map(|a| a.female).collect(),
                    },
                ],
            ),
        ),
        chart(
            "services",
            title_services,
            bar_chart(
                title_services,
                td_string!(locale, stats.axis_service),
                td_string!(locale, stats.axis_requests),
                &services,
                &[Series {
                    name: td_string!(locale, stats.legend_requests),
                    color: GREEN,
                    values: stats.services.iter().map(|(_, c)| *c).collect(),
                }],
            ),
        ),
        chart(
            "funnel",
            title_funnel,
            bar_chart(
                title_funnel,
                td_string!(locale, stats.axis_step),
                td_string!(locale, stats.axis_clients),
                &steps,
                &[Series {
                    name: td_string!(locale, stats.legend_clients),
                    color: ACCENT,
                    values: vec![
                        funnel.visitors,
                        funnel.test_drive,
                        funnel.credit,
                        funnel.bought,
                    ],
                }],
            ),
        ),
        chart(
            "dwell",
            title_dwell,
            bar_chart(
                title_dwell,
                td_string!(locale, stats.axis_minutes),
                td_string!(locale, stats.axis_visits),
                &dwell,
                &[Series {
                    name: td_string!(locale, stats.legend_visits),
                    color: BRAND,
                    values: stats.dwell.iter().map(|(_, c)| *c).collect(),
                }],
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_round() {
        assert_eq!(y_limit(0), 1);
        assert_eq!(y_limit(7), 10);
        assert_eq!(y_limit(95), 100);
        assert_eq!(y_limit(101), 200);
        assert_eq!(y_limit(1_900), 2_000);
    }

    #[test]
    fn a_bar_chart_has_title_axes_and_legend() {
        let svg = bar_chart(
            "Visits by hour",
            "Hour",
            "Visits",
            &["9".into(), "10".into()],
            &[Series {
                name: "Visits",
                color: BRAND,
                values: vec![3, 5],
            }],
        );
        assert!(svg.starts_with("<svg"));
        for text in ["Visits by hour", "Hour"] {
            assert!(svg.contains(text), "missing {text}");
        }
        // Title, y axis and legend.
        assert!(svg.matches("Visits").count() >= 3, "{svg}");
        assert!(svg.matches("<rect").count() >= 3);
    }
}
