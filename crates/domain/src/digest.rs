//! Report digests: the weekly and monthly summaries mailed to supervisors
//! and admins. A period is a run of local days (Monday-started weeks,
//! calendar months); its digest goes out at [`SEND_HOUR`] local time on the
//! day after it ends.

use crate::kpi::{date_of, day_of, monday_of, week_of};
use crate::wire_enum;
use serde::{Deserialize, Serialize};

wire_enum!(
    /// How long a digest's period is.
    DigestPeriod {
        Week = "week",
        Month = "month",
    }
);

/// The local hour a digest goes out, on the first day after its period.
pub const SEND_HOUR: i64 = 7;

/// A workspace's digests (stored as JSON; what is absent is off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestSettings {
    #[serde(default)]
    pub weekly: bool,
    #[serde(default)]
    pub monthly: bool,
}

impl DigestSettings {
    pub fn wants(&self, p: DigestPeriod) -> bool {
        match p {
            DigestPeriod::Week => self.weekly,
            DigestPeriod::Month => self.monthly,
        }
    }
}

impl DigestPeriod {
    /// The period that local day `day` falls in: its first day and the day
    /// after its last.
    pub fn span(self, day: i64) -> (i64, i64) {
        match self {
            DigestPeriod::Week => {
                let monday = monday_of(week_of(day));
                (monday, monday + 7)
            }
            DigestPeriod::Month => {
                let Some(d) = date_of(day).parse::<jiff::civil::Date>().ok() else {
                    return (day, day + 1);
                };
                let first = d.first_of_month();
                let next = first
                    .checked_add(jiff::Span::new().months(1))
                    .unwrap_or(first);
                let at = |d: jiff::civil::Date| day_of(&d.to_string()).unwrap_or(day);
                (at(first), at(next))
            }
        }
    }

    /// The period before the one starting on `start`.
    pub fn before(self, start: i64) -> (i64, i64) {
        self.span(start - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let day = |s: &str| day_of(s).unwrap();
        // 2026-11-25 is a Wednesday.
        assert_eq!(
            DigestPeriod::Week.span(day("2026-11-25")),
            (day("2026-11-23"), day("2026-11-30"))
        );
        assert_eq!(
            DigestPeriod::Week.span(day("2026-11-29")),
            (day("2026-11-23"), day("2026-11-30")),
            "Sunday ends the week"
        );
        assert_eq!(
            DigestPeriod::Month.span(day("2026-12-31")),
            (day("2026-12-01"), day("2027-01-01"))
        );
        assert_eq!(
            DigestPeriod::Month.span(day("2028-02-10")),
            (day("2028-02-01"), day("2028-03-01")),
            "a leap February"
        );
        assert_eq!(
            DigestPeriod::Month.before(day("2027-01-01")),
            (day("2026-12-01"), day("2027-01-01"))
        );
        let s = DigestSettings {
            weekly: true,
            monthly: false,
        };
        assert!(s.wants(DigestPeriod::Week) && !s.wants(DigestPeriod::Month));
    }
}
