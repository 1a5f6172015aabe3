//! The journey map (seed 003): how the customers of a segment move through
//! the stages, what they meet in each, how they feel there, and which
//! touchpoints lose them.
//!
//! Each customer has one [`Summary`], kept up to date as touchpoints are
//! written (and their emotions learnt): per stage, when they first and last
//! were there, how many touchpoints, the emotions' sum, and which
//! touchpoints (by [`key`]) they met; the touchpoints that were followed by
//! a complaint or a low score (pain); the segments they belong to; and their
//! last touchpoint (for churn). A map adds the summaries of a segment up
//! ([`Map::add`]); no report reads touchpoints.
//!
//! A summary folded touchpoint by touchpoint equals one built from all of
//! them at once in time order ([`Summary::of`]); touchpoints arriving late
//! (a shop's backfill) still set first and last moments, counts and
//! emotions exactly, and are credited with pain only from then on.

use crate::journey::{Kind, Stage};
use serde::{Deserialize, Serialize};
use std::borrow::{Borrow, Cow};
use std::collections::BTreeMap;

/// An emotion at or below this is a complaint, a low score, a re-open or a
/// missed target: pain for the touchpoint before it.
pub const PAIN_AT: i64 = -50;
/// Without a touchpoint for this long, a customer has churned.
pub const CHURN_AFTER_MS: i64 = 90 * 86_400_000;
/// Touchpoint keys a summary keeps per stage, and pain keys per customer:
/// the rest are folded into their counts but not named.
pub const MAX_KEYS: usize = 12;
/// Touchpoints a map names per stage, and pain points it lists.
pub const TOP: usize = 5;
pub const TOP_PAINS: usize = 10;
/// Longest part of a key taken from a touchpoint's name.
const MAX_LABEL_CHARS: usize = 60;

/// The funnel's stages in order; service stands beside it.
pub const FUNNEL: [Stage; 4] = [
    Stage::Awareness,
    Stage::Consideration,
    Stage::Decision,
    Stage::PostPurchase,
];

/// What a map is broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentBy {
    /// The channel of the customer's first conversation (`email`, `chat` …).
    FirstChannel,
    /// The `category` attribute of the first touchpoint carrying one.
    Category,
    /// The `country` attribute of the first touchpoint carrying one.
    Country,
    /// The customer's tags (a customer is in each of theirs).
    Tag,
}

impl SegmentBy {
    pub const ALL: [SegmentBy; 4] = [
        SegmentBy::FirstChannel,
        SegmentBy::Category,
        SegmentBy::Country,
        SegmentBy::Tag,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentBy::FirstChannel => "first_channel",
            SegmentBy::Category => "category",
            SegmentBy::Country => "country",
            SegmentBy::Tag => "tag",
        }
    }
    pub fn parse(s: &str) -> Option<SegmentBy> {
        SegmentBy::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// One touchpoint as the map sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    pub at: i64,
    pub kind: Kind,
    pub stage: Stage,
    pub emotion: Option<i64>,
    pub channel: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    pub country: Option<String>,
    pub status: Option<String>,
}

/// What a map calls a touchpoint: its kind, and what tells touchpoints of
/// one kind apart (a channel, an order's status, a page's name).
pub fn key(p: &Point) -> String {
    let detail = match p.kind {
        Kind::Message | Kind::Call | Kind::Bot => p.channel.clone(),
        Kind::Order | Kind::Shipment => p.status.clone(),
        Kind::PageView
        | Kind::Cart
        | Kind::Checkout
        | Kind::Custom
        | Kind::ArticleView
        | Kind::LinkClick => p.name.clone(),
        _ => None,
    };
    match detail {
        Some(d) if !d.is_empty() => format!(
            "{}:{}",
            p.kind.as_str(),
            d.chars().take(MAX_LABEL_CHARS).collect::<String>()
        ),
        _ => p.kind.as_str().to_owned(),
    }
}

/// A key as a map reads it from a stored summary: borrowed from the text
/// where it can be (no escapes), so that adding up a hundred thousand
/// summaries allocates no string per key.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Key<'a>(pub Cow<'a, str>);

impl Borrow<str> for Key<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A customer's time in one stage (`K`: how its keys are held; a map reads
/// them as [`Key`]s).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de> + Ord"))]
pub struct StageSummary<K = String> {
    /// First and last moment there (milliseconds).
    #[serde(rename = "f")]
    pub first: i64,
    #[serde(rename = "l")]
    pub last: i64,
    #[serde(rename = "n")]
    pub touchpoints: i64,
    /// Sum and count of the emotions known there.
    #[serde(rename = "es")]
    pub emotion_sum: i64,
    #[serde(rename = "en")]
    pub emotions: i64,
    /// Touchpoints met there by key, at most [`MAX_KEYS`].
    #[serde(rename = "k", default = "BTreeMap::new")]
    pub keys: BTreeMap<K, i64>,
}

/// Pain a touchpoint brought: how often it was followed by a complaint
/// (a message or call felt badly) or a low score (a survey or review), or
/// by a re-open or a missed target (counted with complaints).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pain {
    #[serde(rename = "c")]
    pub complaints: i64,
    #[serde(rename = "s")]
    pub low_scores: i64,
}

/// One customer's journey, summed (`K`: how its strings are held).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de> + Ord"))]
pub struct Summary<K = String> {
    /// By stage (its wire name).
    #[serde(default = "BTreeMap::new")]
    pub stages: BTreeMap<K, StageSummary<K>>,
    #[serde(default = "BTreeMap::new")]
    pub pains: BTreeMap<K, Pain>,
    /// The segments and when they were learnt (the earliest touchpoint wins).
    #[serde(default = "Option::default")]
    pub first_channel: Option<(i64, K)>,
    #[serde(default = "Option::default")]
    pub category: Option<(i64, K)>,
    #[serde(default = "Option::default")]
    pub country: Option<(i64, K)>,
    /// The latest touchpoint: a customer silent since long ago churned there.
    #[serde(default = "Option::default")]
    pub last: Option<(i64, K)>,
}

fn earliest(slot: &mut Option<(i64, String)>, at: i64, v: Option<&String>) {
    if let Some(v) = v.filter(|v| !v.is_empty())
        && slot.as_ref().is_none_or(|(t, _)| at < *t)
    {
        *slot = Some((at, v.clone()));
    }
}

impl Summary {
    /// Adds a touchpoint. `before` is the key of the customer's touchpoint
    /// just before it that was no pain itself, when it is pain.
    pub fn add(&mut self, p: &Point, before: Option<&str>) {
        let k = key(p);
        let s = self.stages.entry(p.stage.as_str().to_owned()).or_default();
        if s.touchpoints == 0 {
            s.first = p.at;
            s.last = p.at;
        } else {
            s.first = s.first.min(p.at);
            s.last = s.last.max(p.at);
        }
        s.touchpoints += 1;
        if let Some(e) = p.emotion {
            s.emotion_sum += e;
            s.emotions += 1;
        }
        if let Some(n) = s.keys.get_mut(&k) {
            *n += 1;
        } else if s.keys.len() < MAX_KEYS {
            s.keys.insert(k.clone(), 1);
        }
        if self.last.as_ref().is_none_or(|(t, _)| p.at >= *t) {
            self.last = Some((p.at, k));
        }
        if p.channel.is_some() && matches!(p.kind, Kind::Message | Kind::Call | Kind::Bot) {
            earliest(&mut self.first_channel, p.at, p.channel.as_ref());
        }
        earliest(&mut self.category, p.at, p.category.as_ref());
        earliest(&mut self.country, p.at, p.country.as_ref());
        if let (Some(e), Some(b)) = (p.emotion, before) {
            self.pain(p.kind, e, b);
        }
    }

    /// An emotion learnt later for a touchpoint already added (a message
    /// triaged, a survey answered again): `old` is what it had.
    pub fn feel(&mut self, p: &Point, old: Option<i64>, before: Option<&str>) {
        let Some(s) = self.stages.get_mut(p.stage.as_str()) else {
            return;
        };
        if let Some(o) = old {
            s.emotion_sum -= o;
            s.emotions -= 1;
        }
        if let Some(e) = p.emotion {
            s.emotion_sum += e;
            s.emotions += 1;
            // Pain is counted once, when it first shows.
            if old.is_none_or(|o| o > PAIN_AT)
                && let Some(b) = before
            {
                self.pain(p.kind, e, b);
            }
        }
    }

    fn pain(&mut self, kind: Kind, emotion: i64, before: &str) {
        if emotion > PAIN_AT {
            return;
        }
        let full = self.pains.len() >= MAX_KEYS;
        let Some(p) = (match self.pains.get_mut(before) {
            Some(p) => Some(p),
            None if full => None,
            None => Some(self.pains.entry(before.to_owned()).or_default()),
        }) else {
            return;
        };
        if matches!(kind, Kind::Survey | Kind::Review) {
            p.low_scores += 1;
        } else {
            p.complaints += 1;
        }
    }

    /// A summary of touchpoints in time order, as folding them one by one
    /// in that order gives.
    pub fn of(points: &[Point]) -> Summary {
        let mut s = Summary::default();
        let mut calm: Option<String> = None;
        for p in points {
            let pain = p.emotion.is_some_and(|e| e <= PAIN_AT);
            s.add(p, if pain { calm.as_deref() } else { None });
            if !pain {
                calm = Some(key(p));
            }
        }
        s
    }

    /// Whether the customer is in `value` of `by` (tags come from the profile).
    pub fn segment(&self, by: SegmentBy) -> Option<&str> {
        let v = match by {
            SegmentBy::FirstChannel => &self.first_channel,
            SegmentBy::Category => &self.category,
            SegmentBy::Country => &self.country,
            SegmentBy::Tag => return None,
        };
        v.as_ref().map(|(_, s)| s.as_str())
    }
}

/// A stage of the map.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageColumn {
    pub stage: Option<Stage>,
    /// Customers who had at least one touchpoint there.
    pub customers: i64,
    pub touchpoints: i64,
    /// In the funnel: the share of the previous stage's customers who came
    /// here too; for service, the share of all the segment's customers who
    /// needed it. `None` for the first stage, or with no one before.
    pub conversion: Option<f64>,
    /// The median time customers spent there: from their first touchpoint
    /// in it to their first in a later funnel stage, or to their last in it.
    pub median_ms: Option<i64>,
    /// The average of the emotions known there.
    pub emotion: Option<f64>,
    /// The most common touchpoints: key and customers who met it.
    pub top: Vec<(String, i64)>,
}

/// A touchpoint that loses customers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PainPoint {
    pub key: String,
    pub complaints: i64,
    pub low_scores: i64,
    /// Customers whose last touchpoint it was, long enough ago.
    pub churned: i64,
}

impl PainPoint {
    pub fn total(&self) -> i64 {
        self.complaints + self.low_scores + self.churned
    }
}

/// A segment's map, added up from its customers' summaries.
#[derive(Clone, Debug, Default)]
pub struct Map {
    pub customers: i64,
    reached: [i64; 5],
    touchpoints: [i64; 5],
    /// Customers in stage i who also reached funnel stage i + 1.
    went_on: [i64; 4],
    times: [Vec<i64>; 5],
    emotion_sum: [i64; 5],
    emotions: [i64; 5],
    keys: [BTreeMap<String, i64>; 5],
    pains: BTreeMap<String, PainPoint>,
}

impl Map {
    /// Adds one customer; `now` tells who churned.
    pub fn add<K: Borrow<str> + Ord>(&mut self, s: &Summary<K>, now: i64) {
        self.customers += 1;
        let at = |st: Stage| s.stages.get(st.as_str()).filter(|x| x.touchpoints > 0);
        for &st in Stage::ALL {
            let Some(x) = at(st) else { continue };
            let i = st.index();
            self.reached[i] += 1;
            self.touchpoints[i] += x.touchpoints;
            self.emotion_sum[i] += x.emotion_sum;
            self.emotions[i] += x.emotions;
            for k in x.keys.keys() {
                let k: &str = k.borrow();
                // Most keys repeat across customers: no allocation for them.
                match self.keys[i].get_mut(k) {
                    Some(n) => *n += 1,
                    None => {
                        self.keys[i].insert(k.to_owned(), 1);
                    }
                }
            }
            // Time there: until the first later funnel stage began, else
            // until the last touchpoint there.
            let until = FUNNEL
                .iter()
                .filter(|f| st != Stage::Service && f.index() > i)
                .filter_map(|f| at(*f).map(|y| y.first))
                .filter(|t| *t >= x.first)
                .min()
                .unwrap_or(x.last);
            self.times[i].push(until - x.first);
            if i + 1 < FUNNEL.len() && st != Stage::Service && at(FUNNEL[i + 1]).is_some() {
                self.went_on[i] += 1;
            }
        }
        for (k, p) in &s.pains {
            let e = self.pain_of(k.borrow());
            e.complaints += p.complaints;
            e.low_scores += p.low_scores;
        }
        if let Some((t, k)) = &s.last
            && now - t >= CHURN_AFTER_MS
        {
            self.pain_of(k.borrow()).churned += 1;
        }
    }

    fn pain_of(&mut self, k: &str) -> &mut PainPoint {
        let e = self.pains.entry(k.to_owned()).or_default();
        if e.key.is_empty() {
            e.key = k.to_owned();
        }
        e
    }

    /// Adds another part of the same segment (added up on another thread).
    pub fn merge(&mut self, o: Map) {
        self.customers += o.customers;
        for i in 0..5 {
            self.reached[i] += o.reached[i];
            self.touchpoints[i] += o.touchpoints[i];
            self.emotion_sum[i] += o.emotion_sum[i];
            self.emotions[i] += o.emotions[i];
        }
        for i in 0..4 {
            self.went_on[i] += o.went_on[i];
        }
        for (mine, theirs) in self.times.iter_mut().zip(o.times) {
            mine.extend(theirs);
        }
        for (mine, theirs) in self.keys.iter_mut().zip(o.keys) {
            for (k, n) in theirs {
                *mine.entry(k).or_default() += n;
            }
        }
        for (k, p) in o.pains {
            let e = self.pain_of(&k);
            e.complaints += p.complaints;
            e.low_scores += p.low_scores;
            e.churned += p.churned;
        }
    }

    /// The columns, in stage order, and the top pain points.
    pub fn finish(mut self) -> (Vec<StageColumn>, Vec<PainPoint>) {
        let mut columns = Vec::with_capacity(5);
        for &st in Stage::ALL {
            let i = st.index();
            let conversion = if st == Stage::Service {
                (self.customers > 0).then(|| self.reached[i] as f64 / self.customers as f64)
            } else if i == 0 || self.reached[i - 1] == 0 {
                None
            } else {
                Some(self.went_on[i - 1] as f64 / self.reached[i - 1] as f64)
            };
            let times = &mut self.times[i];
            let median_ms = (!times.is_empty()).then(|| {
                let mid = (times.len() - 1) / 2;
                *times.select_nth_unstable(mid).1
            });
            let mut top: Vec<(String, i64)> =
                std::mem::take(&mut self.keys[i]).into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            top.truncate(TOP);
            columns.push(StageColumn {
                stage: Some(st),
                customers: self.reached[i],
                touchpoints: self.touchpoints[i],
                conversion,
                median_ms,
                emotion: (self.emotions[i] > 0)
                    .then(|| self.emotion_sum[i] as f64 / self.emotions[i] as f64),
                top,
            });
        }
        let mut pains: Vec<PainPoint> = self.pains.into_values().collect();
        pains.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.key.cmp(&b.key)));
        pains.truncate(TOP_PAINS);
        (columns, pains)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(at: i64, kind: Kind, stage: Stage, emotion: Option<i64>) -> Point {
        Point {
            at,
            kind,
            stage,
            emotion,
            channel: matches!(kind, Kind::Message).then(|| "email".to_owned()),
            name: None,
            category: None,
            country: None,
            status: None,
        }
    }

    #[test]
    fn keys_tell_touchpoints_of_a_kind_apart() {
        let mut m = p(0, Kind::Message, Stage::Service, None);
        assert_eq!(key(&m), "message:email");
        m.kind = Kind::Reopen;
        assert_eq!(key(&m), "reopen");
        let mut v = p(0, Kind::PageView, Stage::Awareness, None);
        v.name = Some("Pricing".into());
        assert_eq!(key(&v), "page_view:Pricing");
        let mut o = p(0, Kind::Order, Stage::Decision, None);
        o.status = Some("delivered".into());
        assert_eq!(key(&o), "order:delivered");
    }

    #[test]
    fn pain_goes_to_the_touchpoint_before_it() {
        let mut ship = p(2, Kind::Shipment, Stage::PostPurchase, None);
        ship.status = Some("delayed".into());
        let s = Summary::of(&[
            p(1, Kind::Order, Stage::Decision, None),
            ship,
            p(3, Kind::Message, Stage::Service, Some(-60)),
            p(4, Kind::Survey, Stage::Service, Some(-100)),
            p(5, Kind::Message, Stage::Service, Some(60)),
        ]);
        assert_eq!(
            s.pains.get("shipment:delayed"),
            Some(&Pain {
                complaints: 1,
                low_scores: 1
            })
        );
        assert_eq!(s.stages["service"].emotion_sum, -100);
        assert_eq!(s.stages["service"].emotions, 3);
        assert_eq!(s.last, Some((5, "message:email".into())));
        assert_eq!(s.first_channel, Some((3, "email".into())));
    }

    #[test]
    fn a_map_adds_customers_up() {
        let day = 86_400_000;
        let a = Summary::of(&[
            p(0, Kind::PageView, Stage::Awareness, None),
            p(2 * day, Kind::Cart, Stage::Decision, None),
            p(3 * day, Kind::Message, Stage::Service, Some(-60)),
        ]);
        let b = Summary::of(&[p(day, Kind::PageView, Stage::Awareness, None)]);
        let mut m = Map::default();
        m.add(&a, 10 * day);
        m.add(&b, 200 * day);
        let (cols, pains) = m.finish();
        assert_eq!(cols[0].customers, 2);
        // a: 2 days in awareness (until decision); b: none (one touchpoint).
        assert_eq!(cols[0].median_ms, Some(0));
        assert_eq!(cols[1].customers, 0);
        assert_eq!(cols[1].conversion, Some(0.0));
        assert_eq!(cols[2].conversion, None, "no one was in consideration");
        assert_eq!(cols[4].conversion, Some(0.5));
        assert_eq!(cols[4].emotion, Some(-60.0));
        assert_eq!(cols[0].top, vec![("page_view".into(), 2)]);
        // b churned after the page view; a complained after the cart.
        assert_eq!(
            pains,
            vec![
                PainPoint {
                    key: "cart".into(),
                    complaints: 1,
                    low_scores: 0,
                    churned: 0
                },
                PainPoint {
                    key: "page_view".into(),
                    complaints: 0,
                    low_scores: 0,
                    churned: 1
                },
            ]
        );
    }

    #[test]
    fn a_later_emotion_moves_the_average_and_counts_pain_once() {
        let mut s = Summary::of(&[
            p(1, Kind::Order, Stage::Decision, None),
            p(2, Kind::Message, Stage::Service, None),
        ]);
        let felt = p(2, Kind::Message, Stage::Service, Some(-60));
        s.feel(&felt, None, Some("order"));
        s.feel(
            &p(2, Kind::Message, Stage::Service, Some(-80)),
            Some(-60),
            Some("order"),
        );
        assert_eq!(s.stages["service"].emotion_sum, -80);
        assert_eq!(s.stages["service"].emotions, 1);
        assert_eq!(s.pains["order"].complaints, 1);
    }

    #[test]
    fn a_map_in_two_parts_equals_one() {
        let day = 86_400_000;
        let people: Vec<Summary> = (0..7)
            .map(|i| {
                Summary::of(&[
                    p(i * day, Kind::PageView, Stage::Awareness, None),
                    p((i + 1) * day, Kind::Cart, Stage::Decision, None),
                    p(
                        (i + 2) * day,
                        Kind::Message,
                        Stage::Service,
                        Some(-60 + i * 20),
                    ),
                ])
            })
            .collect();
        let mut whole = Map::default();
        let (mut a, mut b) = (Map::default(), Map::default());
        for (i, s) in people.iter().enumerate() {
            whole.add(s, 200 * day);
            if i % 2 == 0 {
                a.add(s, 200 * day)
            } else {
                b.add(s, 200 * day)
            }
        }
        a.merge(b);
        assert_eq!(a.customers, 7);
        assert_eq!(a.finish(), whole.finish());
    }

    /// A map adds up stored summaries read with borrowed keys as it adds up
    /// the summaries themselves, keys with escapes in JSON included.
    #[test]
    fn summaries_read_with_borrowed_keys_map_the_same() {
        let day = 86_400_000;
        let people: Vec<Summary> = (0..5)
            .map(|i| {
                let mut view = p(i * day, Kind::PageView, Stage::Consideration, None);
                view.name = Some(if i % 2 == 0 {
                    "Чайник \"Smart\"".into()
                } else {
                    "Home".into()
                });
                view.country = Some("TH".into());
                Summary::of(&[
                    view,
                    p((i + 1) * day, Kind::Message, Stage::Service, Some(-80)),
                ])
            })
            .collect();
        let stored: Vec<String> = people
            .iter()
            .map(|s| serde_json::to_string(s).unwrap())
            .collect();
        let (mut owned, mut borrowed) = (Map::default(), Map::default());
        for (s, json) in people.iter().zip(&stored) {
            owned.add(s, 300 * day);
            let read: Summary<Key<'_>> = serde_json::from_str(json).unwrap();
            assert!(
                read.stages
                    .values()
                    .flat_map(|st| st.keys.keys())
                    .any(|k| matches!(k.0, Cow::Borrowed(_))),
                "plain keys are borrowed"
            );
            borrowed.add(&read, 300 * day);
        }
        let (columns, pains) = borrowed.finish();
        assert!(
            columns.iter().any(|c| c
                .top
                .iter()
                .any(|(k, n)| k == "page_view:Чайник \"Smart\"" && *n == 3)),
            "{columns:?}"
        );
        assert_eq!((columns, pains), owned.finish());
    }

    fn point() -> impl Strategy<Value = Point> {
        (
            0i64..1000,
            0usize..Kind::ALL.len(),
            0usize..5,
            proptest::option::of(-100i64..=100),
        )
            .prop_map(|(at, k, s, e)| p(at, Kind::ALL[k], Stage::ALL[s], e))
    }

    proptest! {
        /// Stage moments, counts and emotions do not depend on the order
        /// touchpoints arrive in.
        #[test]
        fn arrival_order_does_not_change_the_sums(mut v in proptest::collection::vec(point(), 1..40)) {
            let mut folded = Summary::default();
            for x in v.iter().rev() {
                folded.add(x, None);
            }
            v.sort_by_key(|x| x.at);
            let at_once = Summary::of(&v);
            for (st, a) in &at_once.stages {
                let b = &folded.stages[st];
                prop_assert_eq!((a.first, a.last, a.touchpoints, a.emotion_sum, a.emotions),
                    (b.first, b.last, b.touchpoints, b.emotion_sum, b.emotions));
            }
            prop_assert_eq!(at_once.stages.len(), folded.stages.len());
        }
    }
}
