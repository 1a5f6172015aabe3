//! Business hours: a weekly schedule of opening intervals in a time zone, with
//! holidays, and the arithmetic SLAs need — "add N business minutes" and
//! "business time between".
//!
//! An instant is open when its wall-clock time in the calendar's zone falls in
//! an interval of that day's schedule (a shift that ends at or before it starts,
//! `22:00–06:00`, runs overnight and belongs to the day it starts; a holiday
//! closes the shifts that start on it). Daylight saving time follows from that:
//! wall-clock times skipped in spring are never open, and the hour repeated in
//! autumn is open both times. Intervals are turned into instants exactly, per
//! stretch of constant UTC offset, so the fast arithmetic agrees minute for
//! minute with that definition (the tests compare it with a walk minute by
//! minute).

use crate::Code;
use crate::DomainError;
use crate::Message;
use crate::message;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use std::collections::BTreeSet;

/// Most intervals a day may have.
pub const MAX_INTERVALS: usize = 10;
/// Most holidays a calendar keeps.
pub const MAX_HOLIDAYS: usize = 1000;
/// How far ahead `add` looks for open time before it gives up (a calendar open
/// a few minutes a year still answers; an always-closed one does not).
const SEARCH_DAYS: i64 = 3 * 366;

/// A weekly schedule in a time zone.
#[derive(Clone, Debug)]
pub struct Calendar {
    tz: TimeZone,
    /// Per weekday (Monday first): (start, end) in minutes after midnight;
    /// `end <= start` runs overnight into the next day.
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<Date>,
}

fn bad(field: &str, message: impl Into<crate::Message>) -> DomainError {
    DomainError::invalid(field, message)
}

/// The IANA zone names this build knows, sorted (for the API's schema).
pub fn zone_names() -> Vec<String> {
    zone_names_cached().to_vec()
}

fn zone_names_cached() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.to_string())
            .filter(|n| TimeZone::get(n).is_ok())
            .collect();
        v.sort();
        v.dedup();
        v
    })
}

/// `HH:MM` → minutes after midnight; `24:00` is the end of the day.
pub fn parse_hhmm(s: &str) -> Result<u16, DomainError> {
    let err = || {
        bad(
            "week",
            Message::new(Code::TimeOfDay).with("s", format!("{:?}", s)),
        )
    };
    let (h, m) = s.split_once(':').ok_or_else(err)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(err());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(err());
    }
    Ok(h * 60 + m)
}

fn index(d: Weekday) -> usize {
    usize::from(d.to_monday_zero_offset().unsigned_abs())
}

impl Calendar {
    /// A calendar from an IANA zone name, intervals per weekday (Monday
    /// first, `HH:MM` pairs) and holidays (`YYYY-MM-DD`).
    pub fn new(
        time_zone: &str,
        week: &[Vec<(String, String)>; 7],
        holidays: &[String],
    ) -> Result<Calendar, DomainError> {
        // Names as the database spells them (the API lists them).
        let known = zone_names_cached()
            .binary_search_by(|n| n.as_str().cmp(time_zone))
            .is_ok();
        let tz = TimeZone::get(time_zone)
            .ok()
            .filter(|_| known)
            .ok_or_else(|| {
                bad(
                    "time_zone",
                    Message::new(Code::NotTimeZone).with("time_zone", format!("{:?}", time_zone)),
                )
            })?;
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for (i, day) in week.iter().enumerate() {
            if day.len() > MAX_INTERVALS {
                return Err(bad(
                    "week",
                    Message::new(Code::IntervalsPerDay).with("max_intervals", MAX_INTERVALS),
                ));
            }
            for (s, e) in day {
                // A start of 24:00 is the next day's midnight; an end at or
                // before the start runs overnight.
                days[i].push((parse_hhmm(s)?, parse_hhmm(e)?));
            }
        }
        if holidays.len() > MAX_HOLIDAYS {
            return Err(bad("holidays", message::at_most(MAX_HOLIDAYS)));
        }
        let mut hs = BTreeSet::new();
        for h in holidays {
            let shape = h.len() == 10
                && h.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            let d: Date = h.parse().ok().filter(|_| shape).ok_or_else(|| {
                bad(
                    "holidays",
                    Message::new(Code::Holiday).with("h", format!("{:?}", h)),
                )
            })?;
            hs.insert(d);
        }
        Ok(Calendar {
            tz,
            week: days,
            holidays: hs,
        })
    }

    /// Open around the clock in UTC (calendar time, for SLAs that do not use
    /// business hours).
    pub fn always() -> Calendar {
        Calendar {
            tz: TimeZone::UTC,
            week: std::array::from_fn(|_| vec![(0, 1440)]),
            holidays: BTreeSet::new(),
        }
    }

    /// Whether the calendar is ever open.
    pub fn ever_open(&self) -> bool {
        self.week.iter().any(|d| !d.is_empty())
    }

    /// Instants (ms) whose wall-clock time lies in [`from`, `to`), in order.
    fn instants(&self, from: DateTime, to: DateTime) -> Vec<(i64, i64)> {
        // The civil times read as if they were UTC, in milliseconds.
        let naive = |dt: DateTime| -> Option<i64> {
            dt.to_zoned(TimeZone::UTC)
                .ok()
                .map(|z| z.timestamp().as_millisecond())
        };
        let (Some(w0), Some(w1)) = (naive(from), naive(to)) else {
            return Vec::new();
        };
        // Offsets are within ±26 h: instants of the window lie within this span.
        const SPAN: i64 = 26 * 3_600_000;
        let (lo, hi) = (w0 - SPAN, w1 + SPAN);
        let Ok(start) = jiff::Timestamp::from_millisecond(lo) else {
            return Vec::new();
        };
        // Stretches of constant offset covering [lo, hi).
        let mut cuts: Vec<(i64, i64)> =
            vec![(lo, i64::from(self.tz.to_offset(start).seconds()) * 1000)];
        for t in self.tz.following(start) {
            let at = t.timestamp().as_millisecond();
            if at >= hi {
                break;
            }
            cuts.push((at, i64::from(t.offset().seconds()) * 1000));
        }
        let mut out = Vec::new();
        for (i, (seg_start, offset)) in cuts.iter().enumerate() {
            let seg_end = cuts.get(i + 1).map_or(hi, |c| c.0);
            let a = (w0 - offset).max(*seg_start);
            let b = (w1 - offset).min(seg_end);
            if a < b {
                out.push((a, b));
            }
        }
        out
    }

    /// Open intervals (ms) of the shifts that start on `date`.
    fn shifts(&self, date: Date) -> Vec<(i64, i64)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for &(s, e) in &self.week[index(date.weekday())] {
            let at = |d: Date, m: u16| -> Option<DateTime> {
                if m == 1440 {
                    d.tomorrow().ok().map(|n| n.to_datetime(Time::midnight()))
                } else {
                    Time::new((m / 60) as i8, (m % 60) as i8, 0, 0)
                        .ok()
                        .map(|t| d.to_datetime(t))
                }
            };
            let end_day = if e <= s {
                date.tomorrow().ok()
            } else {
                Some(date)
            };
            let (Some(from), Some(to)) = (at(date, s), end_day.and_then(|d| at(d, e))) else {
                continue;
            };
            out.extend(self.instants(from, to));
        }
        out
    }

    /// Open intervals (ms) from the shifts starting on `first` through `last`,
    /// in order and merged.
    fn open_between_dates(&self, first: Date, last: Date) -> Vec<(i64, i64)> {
        let mut all = Vec::new();
        let mut d = first;
        while d <= last {
            all.extend(self.shifts(d));
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        all.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }

    fn local_date(&self, ms: i64) -> Option<Date> {
        let t = jiff::Timestamp::from_millisecond(ms).ok()?;
        Some(self.tz.to_datetime(t).date())
    }

    /// Whether the calendar is open at `ms`.
    pub fn is_open(&self, ms: i64) -> bool {
        let Some(d) = self.local_date(ms) else {
            return false;
        };
        let (Ok(first), Ok(last)) = (d.checked_sub(jiff::Span::new().days(2)), d.tomorrow()) else {
            return false;
        };
        self.open_between_dates(first, last)
            .iter()
            .any(|&(a, b)| a <= ms && ms < b)
    }

    /// Open time in [`from`, `to`), in milliseconds.
    pub fn between(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let (Some(d0), Some(d1)) = (self.local_date(from), self.local_date(to)) else {
            return 0;
        };
        let (Ok(first), Ok(last)) = (d0.checked_sub(jiff::Span::new().days(2)), d1.tomorrow())
        else {
            return 0;
        };
        self.open_between_dates(first, last)
            .iter()
            .map(|&(a, b)| (b.min(to) - a.max(from)).max(0))
            .sum()
    }

    /// The instant `ms` of open time after `from` (`from` itself when `ms` is
    /// 0); `None` when the calendar has no such time within three years.
    pub fn add(&self, from: i64, ms: i64) -> Option<i64> {
        if ms <= 0 {
            return Some(from);
        }
        let mut left = ms;
        let mut day = self
            .local_date(from)?
            .checked_sub(jiff::Span::new().days(2))
            .ok()?;
        // A week at a time: few calls for long targets, exact per interval.
        for _ in 0..(SEARCH_DAYS / 7 + 1) {
            let last = day.checked_add(jiff::Span::new().days(6)).ok()?;
            for (a, b) in self.open_between_dates(day, last) {
                if b <= from {
                    continue;
                }
                let start = a.max(from);
                let available = b - start;
                if left <= available {
                    return Some(start + left);
                }
                left -= available;
            }
            day = last.tomorrow().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn week(spec: &[&[(&str, &str)]; 7]) -> [Vec<(String, String)>; 7] {
        std::array::from_fn(|i| {
            spec[i]
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        })
    }

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>()
            .expect("timestamp")
            .as_millisecond()
    }

    const MIN: i64 = 60_000;

    /// Open by the wall clock, minute by minute: the definition itself.
    fn open_by_wall_clock(c: &Calendar, t: i64) -> bool {
        let dt =
            c.tz.to_datetime(jiff::Timestamp::from_millisecond(t).expect("t"));
        let (d, m) = (
            dt.date(),
            u16::try_from(dt.hour()).unwrap_or(0) * 60 + u16::try_from(dt.minute()).unwrap_or(0),
        );
        let today = !c.holidays.contains(&d)
            && c.week[index(d.weekday())]
                .iter()
                .any(|&(s, e)| if e > s { s <= m && m < e } else { m >= s });
        let prev = d.yesterday().expect("yesterday");
        let from_yesterday = !c.holidays.contains(&prev)
            && c.week[index(prev.weekday())]
                .iter()
                .any(|&(s, e)| e <= s && m < e);
        today || from_yesterday
    }

    fn brute_between(c: &Calendar, from: i64, to: i64) -> i64 {
        let mut t = from;
        let mut open = 0;
        while t < to {
            if open_by_wall_clock(c, t) {
                open += MIN;
            }
            t += MIN;
        }
        open
    }

    #[test]
    fn office_hours_skip_nights_weekends_and_holidays() {
        let nine_to_six: &[(&str, &str)] = &[("09:00", "18:00")];
        let c = Calendar::new(
            "Europe/Moscow",
            &week(&[
                nine_to_six,
                nine_to_six,
                nine_to_six,
                nine_to_six,
                &[("09:00", "17:00")],
                &[],
                &[],
            ]),
            &["2027-01-01".into()],
        )
        .expect("calendar");
        // Thursday 2026-12-31 16:00 MSK (13:00 UTC) + 4 business hours: 2 h on
        // Thursday, then the holiday (Friday) and the weekend, 2 h on Monday.
        let from = ms("2026-12-31T13:00:00Z");
        let due = c.add(from, 240 * MIN).expect("due");
        assert_eq!(due, ms("2027-01-04T08:00:00Z"), "Monday 11:00 MSK");
        assert_eq!(c.between(from, due), 240 * MIN);
        assert!(c.is_open(ms("2027-01-04T08:59:00Z")) && !c.is_open(ms("2027-01-02T10:00:00Z")));
        assert!(
            Calendar::new(
                "Mars/Olympus",
                &week(&[&[], &[], &[], &[], &[], &[], &[]]),
                &[]
            )
            .is_err()
        );
        assert!(
            parse_hhmm("9:00").is_err()
                && parse_hhmm("24:01").is_err()
                && parse_hhmm("24:00") == Ok(1440)
        );
        assert!(parse_hhmm(" 09:00").is_err());
        let none: [&[(&str, &str)]; 7] = [&[], &[], &[], &[], &[], &[], &[]];
        assert!(Calendar::new("europe/moscow", &week(&none), &[]).is_err());
        assert!(Calendar::new("UTC", &week(&none), &["20270101".into()]).is_err());
        assert!(zone_names().iter().any(|z| z == "Asia/Bangkok"));
        let closed =
            Calendar::new("UTC", &week(&[&[], &[], &[], &[], &[], &[], &[]]), &[]).expect("closed");
        assert_eq!(closed.add(from, MIN), None);
    }

    #[test]
    fn daylight_saving_changes_count_the_clock_on_the_wall() {
        let night: &[(&str, &str)] = &[("00:00", "24:00")];
        let c = Calendar::new(
            "America/New_York",
            &week(&[night, night, night, night, night, night, night]),
            &[],
        )
        .expect("calendar");
        // Spring forward (2026-03-08): that Sunday has 23 hours.
        assert_eq!(
            c.between(ms("2026-03-08T05:00:00Z"), ms("2026-03-09T04:00:00Z")),
            23 * 60 * MIN
        );
        // Fall back (2026-11-01): 25 hours.
        assert_eq!(
            c.between(ms("2026-11-01T04:00:00Z"), ms("2026-11-02T05:00:00Z")),
            25 * 60 * MIN
        );
        // Saturday's overnight shift across the autumn change: 22:00–06:00 is 9 hours.
        let shift: &[(&str, &str)] = &[("22:00", "06:00")];
        let n = Calendar::new(
            "America/New_York",
            &week(&[&[], &[], &[], &[], &[], shift, &[]]),
            &[],
        )
        .expect("n");
        assert_eq!(
            n.between(ms("2026-10-31T00:00:00Z"), ms("2026-11-03T00:00:00Z")),
            9 * 60 * MIN
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

        /// The fast arithmetic agrees with the minute-by-minute walk, around
        /// DST changes, year ends and overnight shifts, in zones with half-hour
        /// and odd offsets.
        #[test]
        fn arithmetic_matches_a_walk_minute_by_minute(
            zone in prop::sample::select(vec!["Europe/Moscow", "America/New_York", "Europe/Berlin", "Asia/Bangkok", "Australia/Lord_Howe", "Pacific/Chatham", "America/Sao_Paulo", "UTC"]),
            days in prop::collection::vec(prop::collection::vec((0u16..49, 0u16..49), 0..3), 7),
            around in prop::sample::select(vec!["2026-03-08T06:00:00Z", "2026-03-29T00:30:00Z", "2026-10-25T00:00:00Z", "2026-11-01T05:00:00Z", "2026-12-31T18:00:00Z", "2027-04-04T15:00:00Z", "2027-09-26T13:00:00Z"]),
            shift_min in -1440i64..1440,
            span_min in 0i64..2880,
            holiday in prop::option::of(0i64..3),
        ) {
            // Any start and end on a half-hour grid, 00:00 to 24:00 (an end at
            // or before the start runs overnight).
            let fmt = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
            let spec: [Vec<(String, String)>; 7] = std::array::from_fn(|i| {
                days[i].iter().map(|&(s, e)| (fmt(s * 30), fmt(e * 30))).collect()
            });
            let from = ms(around) + shift_min * MIN;
            let holidays: Vec<String> = holiday.into_iter().map(|k| {
                let d = jiff::Timestamp::from_millisecond(from).expect("t").to_zoned(TimeZone::get(zone).expect("tz")).date();
                d.checked_add(jiff::Span::new().days(k)).expect("day").to_string()
            }).collect();
            let c = Calendar::new(zone, &spec, &holidays).expect("calendar");
            let to = from + span_min * MIN;
            let open = brute_between(&c, from, to);
            prop_assert_eq!(c.between(from, to), open);
            // Adding what is open in [from, to) ends at the last open minute's end.
            if open > 0 {
                let due = c.add(from, open).expect("due");
                prop_assert_eq!(c.between(from, due), open);
                prop_assert!(open_by_wall_clock(&c, due - MIN), "the last minute counted is open");
                prop_assert!(due <= to);
            }
        }
    }
}
