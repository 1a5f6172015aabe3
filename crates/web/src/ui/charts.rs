//! Charts drawn on the server as SVG: readable without script, printable,
//! and the same in every browser. Each chart carries its title for screen
//! readers and a title per mark (the value on hover); the page puts the
//! numbers in a table beside it.

use std::fmt::Write;

/// One named row of values, one per label (`None`: nothing measured).
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<Option<f64>>,
}

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 26.0;

/// Escapes text for SVG (XML).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// 1, 2 or 5 times a power of ten at or above `v`.
fn nice(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

/// Bars (side by side per label) and lines over the same labels. `max`
/// fixes the scale (rates: 1.0); otherwise it fits the values. `fmt` writes
/// the axis and hover values.
pub fn chart(
    id: &str,
    title: &str,
    labels: &[String],
    bars: &[Series<'_>],
    lines: &[Series<'_>],
    max: Option<f64>,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let n = labels.len().max(1);
    let top_value = bars
        .iter()
        .chain(lines)
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    let max = max.unwrap_or_else(|| nice(top_value));
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let y = |v: f64| TOP + plot_h - (v / max).clamp(0.0, 1.0) * plot_h;
    let x = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t" preserveAspectRatio="xMidYMid meet"><title id="{id}-t">{}</title>"#,
        esc(title)
    );
    // Grid and the value axis.
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            esc(&fmt(v))
        );
    }
    // Labels: at most about ten, evenly spread.
    let every = n.div_ceil(10);
    for (i, l) in labels.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                s,
                r#"<text class="axis" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x(i),
                H - 8.0,
                esc(l)
            );
        }
    }
    let group = slot * 0.8;
    let bar_w = group / bars.len().max(1) as f64;
    for (k, b) in bars.iter().enumerate() {
        for (i, v) in b.values.iter().enumerate().take(n) {
            let Some(v) = v else { continue };
            let top = y(*v);
            let _ = write!(
                s,
                r#"<rect class="c{k}" x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}"><title>{} · {}: {}</title></rect>"#,
                x(i) - group / 2.0 + bar_w * k as f64,
                (bar_w - 1.0).max(1.0),
                (TOP + plot_h - top).max(0.0),
                esc(labels.get(i).map(String::as_str).unwrap_or_default()),
                esc(b.name),
                esc(&fmt(*v))
            );
        }
    }
    for (k, l) in lines.iter().enumerate() {
        let class = bars.len() + k;
        // A gap where nothing was measured breaks the line.
        let mut run: Vec<String> = Vec::new();
        let flush = |run: &mut Vec<String>, s: &mut String| {
            if run.len() > 1 {
                let _ = write!(
                    s,
                    r#"<polyline class="l c{class}" points="{}"/>"#,
                    run.join(" ")
                );
            }
            run.clear();
        };
        for (i, v) in l.values.iter().enumerate().take(n) {
            match v {
                Some(v) => {
                    let (px, py) = (x(i), y(*v));
                    run.push(format!("{px:.1},{py:.1}"));
                    let _ = write!(
                        s,
                        r#"<circle class="c{class}" cx="{px:.1}" cy="{py:.1}" r="3"><title>{} · {}: {}</title></circle>"#,
                        esc(labels.get(i).map(String::as_str).unwrap_or_default()),
                        esc(l.name),
                        esc(&fmt(*v))
                    );
                }
                None => flush(&mut run, &mut s),
            }
        }
        flush(&mut run, &mut s);
    }
    // Legend.
    let mut lx = LEFT;
    for (k, name) in bars.iter().chain(lines).map(|x| x.name).enumerate() {
        let _ = write!(
            s,
            r#"<rect class="c{k}" x="{lx:.1}" y="8" width="12" height="12"/><text class="legend" x="{:.1}" y="18">{}</text>"#,
            lx + 16.0,
            esc(name)
        );
        lx += 28.0 + 7.5 * name.chars().count() as f64;
    }
    s.push_str("</svg>");
    s
}

/// The journey map's chart: a column per stage, its bar the customers who
/// reached it, and the average emotion as a line over a −100…100 scale on
/// the right (its zero dashed). Titles on every mark give the figures.
pub fn journey(
    id: &str,
    title: &str,
    stages: &[String],
    customers: &[i64],
    emotion: &[Option<f64>],
    emotion_name: &str,
) -> String {
    const RIGHT_AXIS: f64 = 44.0;
    let n = stages.len().max(1) as f64;
    let plot_w = W - LEFT - RIGHT_AXIS;
    let plot_h = H - TOP - BOTTOM;
    let max = nice(customers.iter().copied().max().unwrap_or(0) as f64);
    let col = plot_w / n;
    let y_of = |v: f64| TOP + plot_h - v / max * plot_h;
    let e_of = |v: f64| TOP + plot_h / 2.0 - v / 100.0 * (plot_h / 2.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t"><title id="{id}-t">{}</title>"#,
        esc(title)
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = y_of(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - RIGHT_AXIS,
            LEFT - 6.0,
            y + 4.0,
            v.round()
        );
    }
    for v in [-100, 0, 100] {
        let y = e_of(f64::from(v));
        let _ = write!(
            s,
            r#"<text class="axis" x="{}" y="{:.1}">{v}</text>"#,
            W - RIGHT_AXIS + 6.0,
            y + 4.0
        );
    }
    let zero = e_of(0.0);
    let _ = write!(
        s,
        r#"<line class="grid" stroke-dasharray="4 4" x1="{LEFT}" x2="{}" y1="{zero:.1}" y2="{zero:.1}"/>"#,
        W - RIGHT_AXIS
    );
    let mut points = Vec::new();
    for (i, name) in stages.iter().enumerate() {
        let x = LEFT + col * i as f64;
        let c = customers.get(i).copied().unwrap_or(0);
        let y = y_of(c as f64);
        let _ = write!(
            s,
            r#"<rect class="c0" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}: {c}</title></rect><text class="axis" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x + col * 0.2,
            col * 0.6,
            TOP + plot_h - y,
            esc(name),
            x + col / 2.0,
            H - 8.0,
            esc(name)
        );
        if let Some(Some(e)) = emotion.get(i) {
            points.push((x + col / 2.0, e_of(*e), name, *e));
        }
    }
    if points.len() > 1 {
        let path: Vec<String> = points
            .iter()
            .map(|(x, y, _, _)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(s, r#"<polyline class="l c2" points="{}"/>"#, path.join(" "));
    }
    for (x, y, name, e) in points {
        let _ = write!(
            s,
            r#"<circle class="c2" cx="{x:.1}" cy="{y:.1}" r="4"><title>{}, {}: {e:.1}</title></circle>"#,
            esc(name),
            esc(emotion_name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A customer's emotion along their journey: a point per touchpoint whose
/// emotion is known, in time order, on a −100…100 scale with its zero
/// dashed; each point's title names the touchpoint and the value.
pub fn emotion_line(id: &str, title: &str, points: &[(String, Option<i64>)]) -> String {
    let n = points.len().max(2) as f64;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x_of = |i: usize| LEFT + plot_w * i as f64 / (n - 1.0);
    let y_of = |v: f64| TOP + plot_h / 2.0 - v / 100.0 * (plot_h / 2.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t"><title id="{id}-t">{}</title>"#,
        esc(title)
    );
    for v in [-100, -50, 0, 50, 100] {
        let y = y_of(f64::from(v));
        let dash = if v == 0 {
            r#" stroke-dasharray="4 4""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"<line class="grid"{dash} x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{v}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let known: Vec<(f64, f64, &str, i64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, (label, e))| e.map(|e| (x_of(i), y_of(e as f64), label.as_str(), e)))
        .collect();
    if known.len() > 1 {
        let path: Vec<String> = known
            .iter()
            .map(|(x, y, _, _)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(s, r#"<polyline class="l c0" points="{}"/>"#, path.join(" "));
    }
    for (x, y, label, e) in known {
        let _ = write!(
            s,
            r#"<circle class="c0" cx="{x:.1}" cy="{y:.1}" r="4"><title>{}: {e:+}</title></circle>"#,
            esc(label)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_escape_and_break_lines_at_gaps() {
        let labels: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let svg = chart(
            "x",
            "Тикеты <по дням>",
            &labels,
            &[Series {
                name: "Создано",
                values: vec![Some(3.0), Some(7.0), None, Some(1.0)],
            }],
            &[Series {
                name: "CSAT",
                values: vec![Some(1.0), None, Some(2.0), Some(3.0)],
            }],
            None,
            &|v| format!("{v:.0}"),
        );
        assert!(svg.contains("Тикеты &lt;по дням&gt;"), "{svg}");
        assert_eq!(
            svg.matches("<rect class=\"c0\" x").count(),
            4,
            "three bars and the legend"
        );
        // 1 | gap | 2, 3: one line of two points; the lone point is a dot.
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        // The scale fits 7 under a nice maximum of 10.
        assert!(svg.contains(">10</text>"), "{svg}");
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(41.0), 50.0);
        assert_eq!(nice(100.0), 100.0);
    }
}
