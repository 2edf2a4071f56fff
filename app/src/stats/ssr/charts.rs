//! The statistics charts, drawn on the server as SVG with plotters. Every
//! chart has axis descriptions and a legend in the user's language (its
//! title is the page's HTML, so it wraps on a phone). Each is drawn twice:
//! for a wide card and for a phone, so labels stay readable at 390 px.
//!
//! Longer than 400 lines on purpose: the eight charts share one style (colours,
//! axes, legends, sizes) that is kept consistent by keeping them in one place.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::i18n::*;
use crate::stats::{Chart, Stats};

/// A drawing size with the font sizes that read well at it.
#[derive(Clone, Copy)]
pub struct Frame {
    width: u32,
    height: u32,
    label: u32,
    legend: u32,
    /// Most x labels that fit side by side.
    x_labels: usize,
}

impl Frame {
    /// Room under the plot for the x labels and the axis description.
    fn x_label_area(self) -> u32 {
        self.label * 3 + 8
    }

    /// Room left of the plot for numbers up to five digits and the axis description.
    fn y_label_area(self) -> u32 {
        self.label * 4 + 6
    }
}

/// A chart card on a laptop or desktop (about 520–600 px on screen). Font
/// sizes are plotters' (an SVG font-size of size / 1.24): 16 reads as 13 px.
pub const WIDE: Frame = Frame {
    width: 560,
    height: 300,
    label: 16,
    legend: 15,
    x_labels: 12,
};

/// A phone (390 px screen, about 340 px of card): drawn at that width so the
/// type is not shrunk.
pub const NARROW: Frame = Frame {
    width: 340,
    height: 290,
    label: 15,
    legend: 15,
    x_labels: 6,
};

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

/// Bars per category; several series are stacked. `notes` (one per
/// category, may be empty) are written above the bars.
fn bar_chart(
    frame: Frame,
    x_desc: &str,
    y_desc: &str,
    categories: &[String],
    series: &[Series],
    notes: &[String],
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
    let top = totals.iter().copied().max().unwrap_or(0);
    // Room above the tallest bar for its note.
    let y_max = y_limit(if notes.is_empty() { top } else { top + top / 5 });
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(frame.x_label_area())
            .y_label_area_size(frame.y_label_area())
            .build_cartesian_2d((0..(n as i32 - 1).max(1)).into_segmented(), 0i64..y_max)
        else {
            return svg_fallback(frame);
        };
        let every = n.div_ceil(frame.x_labels).max(1);
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
            .label_style(("sans-serif", frame.label))
            .axis_desc_style(("sans-serif", frame.label))
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
        let style = TextStyle::from(("sans-serif", frame.label).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        let _ = chart.draw_series(notes.iter().zip(&totals).enumerate().map(
            |(i, (note, total))| {
                Text::new(
                    note.clone(),
                    (SegmentValue::CenterOf(i as i32), *total),
                    style.clone(),
                )
            },
        ));
        let _ = chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.2))
            .label_font(("sans-serif", frame.legend))
            .draw();
        let _ = root.present();
    }
    svg
}

/// Horizontal bars: for categories with long names (services), which
/// side by side would overlap, in Russian above all.
fn hbar_chart(frame: Frame, x_desc: &str, categories: &[String], series: &Series) -> String {
    let n = categories.len().max(1);
    let x_max = y_limit(series.values.iter().copied().max().unwrap_or(0));
    let longest = categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4) as u32;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(frame.x_label_area())
            // About 0.55 em per character of a sans-serif label.
            .y_label_area_size((longest * frame.label * 11 / 20 + 12).min(frame.width / 2))
            .build_cartesian_2d(0i64..x_max, (0..(n as i32 - 1).max(1)).into_segmented())
        else {
            return svg_fallback(frame);
        };
        let _ = chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .x_labels(if frame.width < 500 { 4 } else { 8 })
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                // The first category at the top.
                SegmentValue::CenterOf(i) => categories
                    .get(n - 1 - *i as usize)
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(("sans-serif", frame.label))
            .axis_desc_style(("sans-serif", frame.label))
            .draw();
        let color = series.color;
        let bars = (0..n).map(|i| {
            let value = series.values.get(i).copied().unwrap_or(0);
            let y = (n - 1 - i) as i32;
            let mut bar = Rectangle::new(
                [
                    (0, SegmentValue::Exact(y)),
                    (value, SegmentValue::Exact(y + 1)),
                ],
                color.filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            bar
        });
        let _ = chart.draw_series(bars);
        let _ = root.present();
    }
    svg
}

fn line_chart(
    frame: Frame,
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
        let root =
            SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(frame.x_label_area())
            .y_label_area_size(frame.y_label_area())
            .build_cartesian_2d(0i32..(n as i32 - 1), 0i64..y_max)
        else {
            return svg_fallback(frame);
        };
        let _ = chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(frame.x_labels.min(8))
            .x_label_formatter(&|i| labels.get(*i as usize).cloned().unwrap_or_default())
            .label_style(("sans-serif", frame.label))
            .axis_desc_style(("sans-serif", frame.label))
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
            .label_font(("sans-serif", frame.legend))
            .draw();
        let _ = root.present();
    }
    svg
}

/// Weekday × hour cells, darker for more visits. The scale is drawn under
/// the grid (a legend box inside covered the busiest cells).
fn heatmap(
    frame: Frame,
    x_desc: &str,
    y_desc: &str,
    scale: (&str, &str),
    weekdays: &[String],
    grid: &[Vec<i64>],
) -> String {
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let shade = |t: f64| {
        let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
        RGBColor(
            mix(LIGHT.0, BRAND.0),
            mix(LIGHT.1, BRAND.1),
            mix(LIGHT.2, BRAND.2),
        )
    };
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let scale_height = frame.label as i32 + 14;
        let (grid_area, scale_area) = root.split_vertically(frame.height as i32 - scale_height);
        draw_scale(&scale_area, frame, scale, max as i64, &shade);
        let Ok(mut chart) = ChartBuilder::on(&grid_area)
            .margin(12)
            .margin_bottom(4)
            .x_label_area_size(frame.x_label_area())
            .y_label_area_size(frame.label * 3)
            .build_cartesian_2d((0i32..23).into_segmented(), (0i32..6).into_segmented())
        else {
            return svg_fallback(frame);
        };
        let every = if frame.width < 500 { 3 } else { 2 };
        let _ = chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(24)
            .y_labels(7)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(h) if h % every == 0 => format!("{h}"),
                _ => String::new(),
            })
            // Monday at the top.
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(d) => {
                    weekdays.get((6 - *d) as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .label_style(("sans-serif", frame.label))
            .axis_desc_style(("sans-serif", frame.label))
            .draw();
        let cells: Vec<Rectangle<(SegmentValue<i32>, SegmentValue<i32>)>> = grid
            .iter()
            .enumerate()
            .flat_map(|(day, hours)| {
                hours.iter().enumerate().map(move |(hour, value)| {
                    let color = shade(*value as f64 / max);
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
        let _ = chart.draw_series(cells);
        let _ = root.present();
    }
    svg
}

/// "fewer ▭▭▭▭▭ more (max N)": the heat map's colour scale, on its own strip.
fn draw_scale<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    frame: Frame,
    (fewer, more): (&str, &str),
    max: i64,
    shade: &dyn Fn(f64) -> RGBColor,
) {
    let font = ("sans-serif", frame.legend).into_font().color(&BLACK);
    let (width, height) = area.dim_in_pixel();
    let mid = height as i32 / 2;
    let steps = 6;
    let cell = 16;
    let text_width = |s: &str| s.chars().count() as i32 * frame.legend as i32 * 11 / 20;
    let more = format!("{more} ({max})");
    let total = text_width(fewer) + 8 + steps * cell + 8 + text_width(&more);
    let mut x = (width as i32 - total).max(0) / 2;
    let left = font.pos(Pos::new(HPos::Left, VPos::Center));
    let _ = area.draw(&Text::new(fewer.to_string(), (x, mid), left.clone()));
    x += text_width(fewer) + 8;
    for i in 0..steps {
        let t = f64::from(i) / f64::from(steps - 1);
        let _ = area.draw(&Rectangle::new(
            [(x, mid - 6), (x + cell - 2, mid + 6)],
            shade(t).filled(),
        ));
        x += cell;
    }
    let _ = area.draw(&Text::new(more, (x + 8, mid), left));
}

fn svg_fallback(frame: Frame) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\"></svg>",
        frame.width, frame.height
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

/// Every chart, each drawn for a wide card and for a phone.
pub fn render_all(stats: &Stats, locale: Locale) -> Vec<Chart> {
    let wide = draw_all(stats, locale, WIDE);
    let narrow = draw_all(stats, locale, NARROW);
    wide.into_iter()
        .zip(narrow)
        .map(|((key, title, svg), (_, _, svg_narrow))| Chart {
            key: key.to_string(),
            title,
            svg,
            svg_narrow,
        })
        .collect()
}

/// (key, title, svg) of every chart in `frame`.
fn draw_all(stats: &Stats, locale: Locale, frame: Frame) -> Vec<(&'static str, String, String)> {
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
    let funnel_values = vec![
        funnel.visitors,
        funnel.test_drive,
        funnel.credit,
        funnel.bought,
    ];
    // Each step as a share of the visitors: the conversion a manager asks for.
    let funnel_notes: Vec<String> = funnel_values
        .iter()
        .map(|v| match funnel.visitors {
            0 => "—".to_string(),
            all => format!("{}%", (*v as f64 * 100.0 / all as f64).round() as i64),
        })
        .collect();
    let dwell: Vec<String> = stats.dwell.iter().map(|(l, _)| l.clone()).collect();
    let weeks = weekly(stats);
    let week_labels: Vec<String> = weeks.iter().map(|w| w.0[5..].to_string()).collect();
    let visits = td_string!(locale, stats.axis_visits);
    let legend_visits = td_string!(locale, stats.legend_visits);

    let by_hour = || {
        bar_chart(
            frame,
            td_string!(locale, stats.axis_hour),
            visits,
            &hours,
            &[Series {
                name: legend_visits,
                color: BRAND,
                values: stats.by_hour.clone(),
            }],
            &[],
        )
    };
    // One day has no "per day" line to draw: its visits by hour instead.
    let per_day_chart = if stats.per_day.len() <= 1 {
        (
            format!(
                "{} · {}",
                td_string!(locale, stats.chart_by_hour),
                stats.per_day.first().map(|d| d.date.as_str()).unwrap_or("")
            ),
            by_hour(),
        )
    } else {
        (
            td_string!(locale, stats.chart_per_day).to_string(),
            line_chart(
                frame,
                td_string!(locale, stats.axis_date),
                visits,
                legend_visits,
                &days,
                &per_day,
            ),
        )
    };
    vec![
        ("per_day", per_day_chart.0, per_day_chart.1),
        (
            "by_hour",
            td_string!(locale, stats.chart_by_hour).to_string(),
            by_hour(),
        ),
        (
            "weekday_hour",
            td_string!(locale, stats.chart_heatmap).to_string(),
            heatmap(
                frame,
                td_string!(locale, stats.axis_hour),
                td_string!(locale, stats.axis_weekday),
                (
                    td_string!(locale, stats.scale_fewer),
                    td_string!(locale, stats.scale_more),
                ),
                &weekday_labels(locale),
                &stats.weekday_hour,
            ),
        ),
        (
            "new_returning",
            td_string!(locale, stats.chart_new_returning).to_string(),
            bar_chart(
                frame,
                td_string!(locale, stats.axis_week),
                visits,
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
                &[],
            ),
        ),
        (
            "age_gender",
            td_string!(locale, stats.chart_age_gender).to_string(),
            bar_chart(
                frame,
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
                &[],
            ),
        ),
        (
            "services",
            td_string!(locale, stats.chart_services).to_string(),
            hbar_chart(
                frame,
                td_string!(locale, stats.axis_requests),
                &services,
                &Series {
                    name: td_string!(locale, stats.legend_requests),
                    color: GREEN,
                    values: stats.services.iter().map(|(_, c)| *c).collect(),
                },
            ),
        ),
        (
            "funnel",
            td_string!(locale, stats.chart_funnel).to_string(),
            bar_chart(
                frame,
                td_string!(locale, stats.axis_step),
                td_string!(locale, stats.axis_clients),
                &steps,
                &[Series {
                    name: td_string!(locale, stats.legend_clients),
                    color: ACCENT,
                    values: funnel_values,
                }],
                &funnel_notes,
            ),
        ),
        (
            "dwell",
            td_string!(locale, stats.chart_dwell).to_string(),
            bar_chart(
                frame,
                td_string!(locale, stats.axis_minutes),
                visits,
                &dwell,
                &[Series {
                    name: legend_visits,
                    color: BRAND,
                    values: stats.dwell.iter().map(|(_, c)| *c).collect(),
                }],
                &[],
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
    fn a_bar_chart_has_axes_legend_and_notes() {
        for frame in [WIDE, NARROW] {
            let svg = bar_chart(
                frame,
                "Hour",
                "Visits",
                &["9".into(), "10".into()],
                &[Series {
                    name: "Visitors",
                    color: BRAND,
                    values: vec![3, 5],
                }],
                &["38%".into(), "62%".into()],
            );
            assert!(svg.starts_with("<svg"));
            assert!(svg.contains(&format!("width=\"{}\"", frame.width)), "{svg}");
            for text in ["Hour", "Visits", "Visitors", "38%", "62%"] {
                assert!(svg.contains(text), "missing {text}");
            }
            assert!(svg.matches("<rect").count() >= 3);
        }
    }

    #[test]
    fn long_service_names_get_a_row_each_and_the_heat_map_a_scale_below() {
        let names: Vec<String> = ["Консультация", "Обсуждение покупки", "Страхование"]
            .map(String::from)
            .to_vec();
        let svg = hbar_chart(
            NARROW,
            "Запросы",
            &names,
            &Series {
                name: "Запросы",
                color: GREEN,
                values: vec![10, 4, 1],
            },
        );
        for name in &names {
            assert!(svg.contains(name.as_str()), "missing {name}");
        }
        let grid = vec![vec![1; 24]; 7];
        let days: Vec<String> = (1..=7).map(|d| format!("D{d}")).collect();
        let heat = heatmap(NARROW, "Hour", "Day", ("fewer", "more"), &days, &grid);
        assert!(
            heat.contains("fewer") && heat.contains("more (1)"),
            "{heat}"
        );
    }
}
