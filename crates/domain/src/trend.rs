//! Trends: a spike in new tickets about one category, tag or subject term,
//! judged against that key's own recent baseline.
//!
//! The test: in the same six hours of each of the previous 14 days (so the
//! hours of the day a workspace is busy are compared with themselves) the
//! key had `b` tickets in `k` = 14 windows. Its rate per window is unknown;
//! with a Jeffreys prior it is Gamma(b + ½, k), and the count in one window
//! then follows the posterior predictive, a negative binomial with
//! r = b + ½ and success probability k / (k + 1). The window's count is a
//! spike when its upper tail P(X ≥ observed) is below [`ALPHA`] and at least
//! [`MIN_COUNT`] tickets say so. The predictive is wider than a Poisson with
//! the baseline's mean — a short or quiet baseline proves less — so an
//! ordinary busy day does not alarm, and a key never seen before needs a
//! handful of tickets at once.

/// The window a spike is looked for in.
pub const WINDOW_MS: i64 = 6 * 3_600_000;
/// Days of baseline: the same hours of each day before.
pub const BASELINE_DAYS: i64 = 14;
/// Significance per key and test: keys are tested as tickets arrive, many a
/// day, so the level is far below the usual 0.05.
pub const ALPHA: f64 = 1e-5;
/// Fewer tickets than this are never a trend, however rare the key.
pub const MIN_COUNT: i64 = 5;
/// A key raises at most one alert in this long.
pub const QUIET_MS: i64 = 86_400_000;
/// Most subject terms counted per ticket.
pub const MAX_TERMS: usize = 8;

/// The upper tail P(X ≥ observed) of the count in one window, given
/// `baseline` tickets in `windows` windows before.
pub fn upper_tail(observed: i64, baseline: i64, windows: f64) -> f64 {
    if observed <= 0 {
        return 1.0;
    }
    let r = baseline.max(0) as f64 + 0.5;
    let q = windows / (windows + 1.0);
    // P(0) = q^r; P(j+1) = P(j) · (j + r) / (j + 1) · (1 − q).
    let mut p = q.powf(r);
    let mut below = 0.0;
    for j in 0..observed {
        below += p;
        p *= (j as f64 + r) / (j as f64 + 1.0) * (1.0 - q);
    }
    (1.0 - below).max(0.0)
}

/// What the test found for a key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// Tickets expected in the window from the baseline.
    pub expected: f64,
    pub p_value: f64,
    pub spike: bool,
}

/// Tests `observed` tickets in the window against `baseline` tickets in the
/// same hours of the [`BASELINE_DAYS`] days before.
pub fn judge(observed: i64, baseline: i64) -> Verdict {
    let windows = BASELINE_DAYS as f64;
    let p_value = upper_tail(observed, baseline, windows);
    Verdict {
        expected: (baseline as f64 + 0.5) / windows,
        p_value,
        spike: observed >= MIN_COUNT && p_value < ALPHA,
    }
}

/// Words too common in support mail to mean a topic (ru, en, th).
const STOP: &[&str] = &[
    "здравствуйте",
    "добрый",
    "спасибо",
    "пожалуйста",
    "подскажите",
    "вопрос",
    "почему",
    "когда",
    "можно",
    "нужно",
    "hello",
    "thanks",
    "thank",
    "please",
    "question",
    "about",
    "there",
    "where",
    "what",
    "with",
    "have",
    "would",
    "could",
    "from",
    "this",
    "that",
    "สวัสดี",
    "ครับ",
    "ค่ะ",
    "ขอบคุณ",
];

/// The terms of a subject a trend may be about: lower-cased words of four
/// letters or more, not the politeness every ticket has, each once, at most
/// [`MAX_TERMS`]. (Thai has no spaces between words: a Thai subject gives
/// its space-separated phrases.)
pub fn terms(subject: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in subject
        .split(|c: char| !c.is_alphanumeric())
        .map(|w| w.to_lowercase())
    {
        if w.chars().count() < 4
            || w.chars().all(|c| c.is_ascii_digit())
            || STOP.contains(&w.as_str())
            || out.contains(&w)
        {
            continue;
        }
        out.push(w);
        if out.len() == MAX_TERMS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_a_distribution_and_wider_than_a_poisson() {
        // P(X ≥ 0) = 1 and the tail falls as the count grows.
        assert_eq!(upper_tail(0, 10, 56.0), 1.0);
        let tails: Vec<f64> = (1..10).map(|x| upper_tail(x, 28, 56.0)).collect();
        assert!(tails.windows(2).all(|w| w[1] < w[0]), "{tails:?}");
        // Baseline of 28 in 56 windows: about ½ a window. Poisson(½) gives
        // P(X ≥ 4) ≈ 0.00175; the predictive, a little more.
        let p = upper_tail(4, 28, 56.0);
        assert!(p > 0.00175 && p < 0.003, "{p}");
    }

    #[test]
    fn a_spike_needs_both_evidence_and_a_handful() {
        // Two in these hours each day for two weeks: four is ordinary.
        assert!(!judge(4, 28).spike);
        // Fifteen is not.
        let v = judge(15, 28);
        assert!(v.spike && v.p_value < 1e-7, "{v:?}");
        assert!((v.expected - 28.5 / 14.0).abs() < 1e-9);
        // Never seen before: four is not enough, five is.
        assert!(!judge(4, 0).spike);
        assert!(judge(5, 0).spike, "{:?}", judge(5, 0));
        // A key that is always busy (20 in these hours): 35 is a busy day,
        // 60 is a spike.
        assert!(!judge(35, 14 * 20).spike, "{:?}", judge(35, 14 * 20));
        assert!(judge(60, 14 * 20).spike);
    }

    #[test]
    fn terms_are_the_words_of_the_topic() {
        assert_eq!(
            terms("Здравствуйте! Колонка не включается, колонка 2026"),
            vec!["колонка", "включается"]
        );
        assert_eq!(terms("Re: Where is my ORDER?"), vec!["order"]);
        assert!(terms("a b c").is_empty());
        assert!(terms(&"слово ".repeat(3)).len() == 1);
    }
}
