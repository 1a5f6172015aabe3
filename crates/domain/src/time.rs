//! Time as milliseconds since the Unix epoch, UTC: one integer column in both
//! databases, RFC 3339 on the wire.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use std::fmt;

/// A point in time, millisecond precision, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }
    pub fn millis(self) -> i64 {
        self.0
    }
    pub fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }
    fn datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-22T10:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        self.datetime().to_rfc3339_opts(SecondsFormat::Millis, true)
    }
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| Timestamp(d.timestamp_millis()))
    }
}

/// Wall-clock time in an IANA zone (what a person picks in a form) as a
/// moment, and back. A time a DST change skips is moved forward, one it
/// repeats takes the earlier; `None` for an unknown zone or a malformed time.
pub mod local {
    use super::Timestamp;
    use jiff::civil::{DateTime, Weekday};
    use jiff::tz::TimeZone;

    fn zone(tz: &str) -> Option<TimeZone> {
        TimeZone::get(tz).ok()
    }

    /// `"2026-12-01T09:00"` (a `datetime-local` value) in `tz`.
    pub fn parse(tz: &str, local: &str) -> Option<Timestamp> {
        let dt: DateTime = local.trim().parse().ok()?;
        let z = dt.to_zoned(zone(tz)?).ok()?;
        Some(Timestamp(z.timestamp().as_millisecond()))
    }

    /// `t` as a `datetime-local` value in `tz`, to the minute.
    pub fn format(tz: &str, t: Timestamp) -> Option<String> {
        let z = jiff::Timestamp::from_millisecond(t.0)
            .ok()?
            .to_zoned(zone(tz)?);
        Some(z.strftime("%Y-%m-%dT%H:%M").to_string())
    }

    /// `hour`:00 in `tz` on the day `days` after `now`'s local date.
    pub fn at_hour(tz: &str, now: Timestamp, days: i64, hour: i8) -> Option<Timestamp> {
        let z = zone(tz)?;
        let today = jiff::Timestamp::from_millisecond(now.0)
            .ok()?
            .to_zoned(z.clone())
            .date();
        let day = today.checked_add(jiff::Span::new().days(days)).ok()?;
        let at = day.at(hour, 0, 0, 0).to_zoned(z).ok()?;
        Some(Timestamp(at.timestamp().as_millisecond()))
    }

    /// `hour`:00 in `tz` on the next Monday after `now`'s local date.
    pub fn next_monday(tz: &str, now: Timestamp, hour: i8) -> Option<Timestamp> {
        let today = jiff::Timestamp::from_millisecond(now.0)
            .ok()?
            .to_zoned(zone(tz)?)
            .date();
        let ahead = 7 - i64::from(today.weekday().since(Weekday::Monday));
        at_hour(tz, now, ahead, hour)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 time")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_read_in_their_zone() {
        // Moscow is UTC+3 all year; Bangkok UTC+7.
        let t = local::parse("Europe/Moscow", "2026-12-01T09:00").expect("parses");
        assert_eq!(t.to_rfc3339(), "2026-12-01T06:00:00.000Z");
        assert_eq!(
            local::format("Asia/Bangkok", t).as_deref(),
            Some("2026-12-01T13:00")
        );
        assert_eq!(local::parse("Mars/Olympus", "2026-12-01T09:00"), None);
        assert_eq!(local::parse("Europe/Moscow", "tomorrow"), None);
        // Tuesday 1 December 2026, 23:30 in Moscow: tomorrow 9:00 is Wednesday,
        // next Monday is the 7th.
        let now = local::parse("Europe/Moscow", "2026-12-01T23:30").expect("now");
        let tomorrow = local::at_hour("Europe/Moscow", now, 1, 9).expect("tomorrow");
        assert_eq!(
            local::format("Europe/Moscow", tomorrow).as_deref(),
            Some("2026-12-02T09:00")
        );
        let monday = local::next_monday("Europe/Moscow", now, 9).expect("monday");
        assert_eq!(
            local::format("Europe/Moscow", monday).as_deref(),
            Some("2026-12-07T09:00")
        );
        // On a Monday, the next Monday is a week ahead.
        let on_monday = local::parse("Europe/Moscow", "2026-12-07T08:00").expect("monday");
        let next = local::next_monday("Europe/Moscow", on_monday, 9).expect("next");
        assert_eq!(
            local::format("Europe/Moscow", next).as_deref(),
            Some("2026-12-14T09:00")
        );
    }

    #[test]
    fn rfc3339_round_trips_at_millisecond_precision() {
        let t = Timestamp(1_795_000_123_456);
        let s = t.to_rfc3339();
        assert!(s.ends_with('Z'), "{s}");
        assert_eq!(Timestamp::parse_rfc3339(&s), Some(t));
    }
}
