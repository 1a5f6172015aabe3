//! A text classifier trained in-process: features (`features`), a linear model
//! (`linear`), and a calibration that turns its margins into confidences.
//!
//! The calibration is fitted on examples held out of a first training round
//! (every fifth), so that among answers given with confidence 0.8 about 80 %
//! are right; the model is then trained again on everything. A workspace's
//! threshold is therefore a statement about accuracy, not about a score scale.
//!
//! With ten labels or more the first round also leaves every fifth label out
//! altogether, and those labels' held-out examples join the fit as answers
//! that cannot be right. A bot must hand off questions about what no label
//! covers, and without such examples the calibration would only ever have
//! seen questions that one of its labels did cover.
//!
//! A hybrid (words and embeddings) also keeps its examples' embeddings, and
//! its calibration weighs how close a text comes to the nearest example of
//! the label it chose: a question that is like none of the phrasings is less
//! likely to be what the label covers, however the margins fall.

use crate::features::{Featurizer, Sparse, Tokens, Vocabulary};
use crate::linear::{Linear, Params};

/// Fewest held-out examples that fit a calibration.
const MIN_HELD_OUT: usize = 40;

/// Fewest labels from which the calibration's first round leaves some out.
const UNSEEN_FROM_LABELS: usize = 10;

/// What a held-out question of a left-out label counts for in the
/// calibration's fit: a half, so that about one answer in nine is to a
/// question no label covers. They are harder than most such questions (a
/// left-out label has siblings that look like it), and counted in full
/// they made the calibration shy: answers at 0.7 were right 98.6 % of the
/// time.
const UNSEEN_WEIGHT: f32 = 0.5;

/// Most examples per label a hybrid keeps to measure nearness against: the
/// cost of a prediction stays bounded however many tickets a label has.
const NEAR_PER_LABEL: usize = 256;

/// One labelled text.
#[derive(Clone, Debug)]
pub struct Example {
    pub text: String,
    pub label: String,
}

/// A trained classifier.
#[derive(Clone)]
pub struct Classifier {
    featurizer: Featurizer,
    vocabulary: Vocabulary,
    model: Linear,
    labels: Vec<String>,
    calibration: Calibration,
    /// The background's label, never reported.
    hidden: Option<usize>,
    /// The embeddings' length and weight, when trained with them.
    dense: Option<(usize, f32)>,
    /// A hybrid's examples' embeddings, unit length, per label.
    near: Option<Neighbours>,
}

/// Embeddings of a label's examples, to tell how close a text comes to the
/// nearest one.
#[derive(Clone, Default)]
struct Neighbours {
    dims: usize,
    /// Per label, its examples' unit vectors one after another.
    by_label: Vec<Vec<f32>>,
    /// The nearness of a held-out example on average: what a text without
    /// its embedding is taken to have, so that it is judged by its margins.
    usual: f32,
}

/// `v` scaled to unit length; `None` for a zero vector.
fn unit(v: &[f32]) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| v.iter().map(|x| x / norm).collect())
}

impl Neighbours {
    /// From the rows of `vectors` whose label is `y`, at most
    /// [`NEAR_PER_LABEL`] per label, spread evenly over its examples.
    fn new(vectors: &[&[f32]], y: &[u32], rows: &[usize], classes: usize) -> Neighbours {
        let dims = vectors.first().map_or(0, |v| v.len());
        let mut per: Vec<Vec<usize>> = vec![Vec::new(); classes];
        for i in rows {
            if let Some(p) = per.get_mut(y[*i] as usize) {
                p.push(*i);
            }
        }
        let by_label = per
            .into_iter()
            .map(|rows| {
                let step = rows.len().div_ceil(NEAR_PER_LABEL).max(1);
                rows.iter()
                    .step_by(step)
                    .filter_map(|i| unit(vectors[*i]))
                    .flatten()
                    .collect()
            })
            .collect();
        Neighbours {
            dims,
            by_label,
            usual: 0.0,
        }
    }

    /// The cosine of `e` (unit length) and the nearest example of `label`;
    /// 0 when the label has none.
    fn nearest(&self, label: usize, e: &[f32]) -> f32 {
        let Some(rows) = self.by_label.get(label) else {
            return 0.0;
        };
        if self.dims == 0 || e.len() != self.dims {
            return 0.0;
        }
        rows.chunks_exact(self.dims)
            .map(|r| r.iter().zip(e).map(|(a, b)| a * b).sum::<f32>())
            .fold(0.0, f32::max)
    }

    fn memory(&self) -> usize {
        self.by_label.iter().map(|v| v.capacity() * 4 + 24).sum()
    }
}

/// The classifier's answer for one text: the labels best first, each with the
/// chance that it is right.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub ranked: Vec<(usize, f32)>,
}

impl Prediction {
    pub fn best(&self) -> Option<(usize, f32)> {
        self.ranked.first().copied()
    }
}

/// Sentence embeddings beside the texts' own features: one vector per text,
/// all of one length, each scaled by the weight.
#[derive(Clone, Copy)]
pub struct Dense<'a> {
    pub vectors: &'a [Vec<f32>],
    pub weight: f32,
}

/// `v` with an embedding's dimensions appended after the vocabulary's
/// features (the linear model sees one feature space).
fn with_dense(mut v: Sparse, offset: usize, dense: Option<(&[f32], f32)>) -> Sparse {
    if let Some((e, w)) = dense {
        for (d, x) in e.iter().enumerate() {
            v.idx.push((offset + d) as u32);
            v.val.push(x * w);
        }
    }
    v
}

fn fit(
    tokens: &[Tokens],
    dense: Option<(Vec<&[f32]>, f32)>,
    y: &[u32],
    classes: usize,
    p: Params,
) -> (Vocabulary, Linear) {
    let vocabulary = Vocabulary::fit(tokens, 1);
    let dims = dense
        .as_ref()
        .and_then(|(v, _)| v.first().map(|e| e.len()))
        .unwrap_or(0);
    let x: Vec<Sparse> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let e = dense.as_ref().map(|(v, w)| (v[i], *w));
            with_dense(vocabulary.vector(t), vocabulary.len(), e)
        })
        .collect();
    let model = Linear::train(&x, y, classes, vocabulary.len() + dims, p);
    (vocabulary, model)
}

/// How margins become the chance that an answer is right: a logistic
/// function of the label's margin and its lead over the next label (Platt,
/// "Probabilistic Outputs for Support Vector Machines", 1999), fitted on
/// examples held out of a first training round. Each machine says "mine"
/// above 0 and "not mine" below, so a text no label claims gets a low
/// confidence however few labels there are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    pub margin: f32,
    pub lead: f32,
    /// Weight of the cosine to the label's nearest example (hybrids only).
    pub near: f32,
    pub bias: f32,
}

/// Used until a workspace has enough examples to fit its own. With a few
/// examples per label the margins stay small (each machine has seen few
/// texts), so the lead over the next label carries as much as the margin:
/// at the boundary (0) a lead of 0.5 gives 0.62, a lead of 1 gives 0.88; a
/// text no label claims (margins a little below 0, leads small) stays low.
const PRIOR: Calibration = Calibration {
    margin: 6.0,
    lead: 3.0,
    near: 0.0,
    bias: -1.0,
};

impl Calibration {
    fn confidence(&self, margin: f32, lead: f32, near: f32) -> f32 {
        let z = self.margin * margin + self.lead * lead + self.near * near + self.bias;
        1.0 / (1.0 + (-z).exp())
    }

    /// Fitted by gradient descent on the log loss, starting from the prior and
    /// pulled gently towards it (a few held-out mistakes must not make it
    /// extreme). With `near` (a hybrid), see [`Calibration::fit_near`].
    fn fit(points: &[Point], near: bool) -> Calibration {
        let n = points.iter().map(|p| p.weight).sum::<f32>().max(1e-3);
        let mean = points.iter().map(|p| p.weight * p.near).sum::<f32>() / n;
        let spread = (points
            .iter()
            .map(|p| p.weight * (p.near - mean).powi(2))
            .sum::<f32>()
            / n)
            .sqrt();
        if near && spread > 1e-4 {
            return Calibration::fit_near(points, mean, spread);
        }
        let mut c = PRIOR;
        let pull = 0.01;
        for _ in 0..500 {
            let (mut gm, mut gl, mut gb) = (0f32, 0f32, 0f32);
            for p in points {
                let e =
                    p.weight * (c.confidence(p.margin, p.lead, 0.0) - f32::from(u8::from(p.right)));
                gm += e * p.margin;
                gl += e * p.lead;
                gb += e;
            }
            let rate = 2.0;
            c.margin -= rate * (gm / n + pull * (c.margin - PRIOR.margin));
            c.lead -= rate * (gl / n + pull * (c.lead - PRIOR.lead));
            c.bias -= rate * (gb / n + pull * (c.bias - PRIOR.bias));
        }
        c
    }

    /// The four weights by Newton's method on the log loss, with the prior
    /// (nearness weight 0) worth [`PRIOR_EXAMPLES`] examples: a strong pull
    /// on a few dozen held-out answers, next to none on thousands. Gradient
    /// descent with the pull above settles far from the optimum here: held
    /// at the prior's margin weight, it made nearness compensate with a
    /// weight of the wrong sign. The nearness is standardised while fitting
    /// (a cosine moves in hundredths where a margin moves in tenths).
    fn fit_near(points: &[Point], mean: f32, spread: f32) -> Calibration {
        let n: f64 = points
            .iter()
            .map(|p| f64::from(p.weight))
            .sum::<f64>()
            .max(1e-3);
        let lambda = PRIOR_EXAMPLES / n;
        let prior = [
            f64::from(PRIOR.margin),
            f64::from(PRIOR.lead),
            0.0,
            f64::from(PRIOR.bias),
        ];
        let xs: Vec<([f64; 4], f64, f64)> = points
            .iter()
            .map(|p| {
                let z = f64::from((p.near - mean) / spread);
                (
                    [f64::from(p.margin), f64::from(p.lead), z, 1.0],
                    f64::from(u8::from(p.right)),
                    f64::from(p.weight),
                )
            })
            .collect();
        // The mean log loss plus the pull towards the prior.
        let objective = |w: &[f64; 4]| -> f64 {
            let loss: f64 = xs
                .iter()
                .map(|(x, y, c)| {
                    let t: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
                    // log(1 + e^t) - y t, written to stay finite.
                    c * (t.max(0.0) + (-t.abs()).exp().ln_1p() - y * t)
                })
                .sum();
            let pull: f64 = w.iter().zip(&prior).map(|(a, b)| (a - b).powi(2)).sum();
            loss / n + lambda / 2.0 * pull
        };
        let mut w = prior;
        for _ in 0..50 {
            let mut g = [0f64; 4];
            let mut h = [[0f64; 4]; 4];
            for (x, y, c) in &xs {
                let t: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
                let q = 1.0 / (1.0 + (-t).exp());
                let r = c * q * (1.0 - q);
                for i in 0..4 {
                    g[i] += c * (q - y) * x[i] / n;
                    for j in 0..4 {
                        h[i][j] += r * x[i] * x[j] / n;
                    }
                }
            }
            for i in 0..4 {
                g[i] += lambda * (w[i] - prior[i]);
                h[i][i] += lambda;
            }
            let Some(step) = solve(h, g) else { break };
            // Halved until the loss falls: a full Newton step overshoots
            // where the answers are all but separable.
            let before = objective(&w);
            let mut t = 1.0;
            let mut next = w;
            while t > 1e-4 {
                for i in 0..4 {
                    next[i] = w[i] - t * step[i];
                }
                if objective(&next) <= before {
                    break;
                }
                t /= 2.0;
            }
            let moved = (0..4).map(|i| (next[i] - w[i]).abs()).fold(0.0, f64::max);
            w = next;
            if moved < 1e-6 {
                break;
            }
        }
        if w.iter().any(|v| !v.is_finite()) {
            return PRIOR;
        }
        let near = w[2] / f64::from(spread);
        Calibration {
            margin: w[0] as f32,
            lead: w[1] as f32,
            near: near as f32,
            bias: (w[3] - near * f64::from(mean)) as f32,
        }
    }
}

/// How many held-out answers the prior calibration is worth when a hybrid's
/// calibration is fitted.
const PRIOR_EXAMPLES: f64 = 20.0;

/// `x` with `a x = b` by Gaussian elimination with partial pivoting; `None`
/// when `a` is singular.
fn solve(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for col in 0..4 {
        let pivot = (col..4).max_by(|i, j| a[*i][col].abs().total_cmp(&a[*j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..4 {
            let f = a[row][col] / a[col][col];
            let top = a[col];
            for (x, t) in a[row].iter_mut().zip(top).skip(col) {
                *x -= f * t;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0f64; 4];
    for row in (0..4).rev() {
        let s: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// One held-out example's margin, lead and nearness for its best label, and
/// whether that label was right.
#[derive(Clone, Copy, Debug)]
struct Point {
    margin: f32,
    lead: f32,
    near: f32,
    right: bool,
    /// What the answer counts for in the fit.
    weight: f32,
}

/// Each label's margin and its lead over the best other label.
fn leads(margins: &[f32]) -> Vec<(f32, f32)> {
    let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for m in margins {
        if *m > first {
            second = first;
            first = *m;
        } else if *m > second {
            second = *m;
        }
    }
    margins
        .iter()
        .map(|m| {
            let other = if *m >= first { second } else { first };
            (*m, if other.is_finite() { m - other } else { 1.0 })
        })
        .collect()
}

impl Classifier {
    /// Trains on `examples`; labels are ordered by name. `None` when there is
    /// nothing to learn (no examples, or one label only).
    pub fn train(examples: &[Example], params: Params) -> Option<Classifier> {
        Classifier::train_with_background(examples, &[], params)
    }

    /// Trains on `examples` with `background` texts that belong to no label:
    /// every label learns them as what it is not (greetings, thanks, small
    /// talk), without their becoming a label that could win over a real one.
    /// `None` when there is nothing to tell apart.
    pub fn train_with_background(
        examples: &[Example],
        background: &[&str],
        params: Params,
    ) -> Option<Classifier> {
        Classifier::train_inner(examples, background, None, params)
    }

    /// Trains on `examples` and, beside their words, their embeddings (one
    /// per example, from an embeddings model): a hybrid whose predictions
    /// then need the text's embedding too ([`Classifier::predict_dense`]).
    pub fn train_hybrid(
        examples: &[Example],
        dense: Dense<'_>,
        params: Params,
    ) -> Option<Classifier> {
        Classifier::train_hybrid_with_background(examples, &[], dense, params)
    }

    /// [`Classifier::train_hybrid`] with `background` texts as in
    /// [`Classifier::train_with_background`]: `dense` holds the examples'
    /// embeddings, then the background's.
    pub fn train_hybrid_with_background(
        examples: &[Example],
        background: &[&str],
        dense: Dense<'_>,
        params: Params,
    ) -> Option<Classifier> {
        if dense.vectors.len() != examples.len() + background.len() {
            return None;
        }
        Classifier::train_inner(examples, background, Some(dense), params)
    }

    fn train_inner(
        examples: &[Example],
        background: &[&str],
        dense: Option<Dense<'_>>,
        params: Params,
    ) -> Option<Classifier> {
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        labels.sort();
        labels.dedup();
        labels.retain(|l| !l.is_empty());
        if labels.is_empty() || (labels.len() < 2 && background.is_empty()) {
            return None;
        }
        let hidden = if background.is_empty() {
            None
        } else {
            // The empty label sorts first.
            labels.insert(0, String::new());
            Some(0)
        };
        // Embeddings are per example, so a hybrid keeps every example as given.
        let vectors: Option<Vec<&[f32]>> = dense.map(|d| {
            examples
                .iter()
                .zip(d.vectors)
                .filter(|(e, _)| !e.label.is_empty())
                .map(|(_, v)| v.as_slice())
                .chain(d.vectors[examples.len()..].iter().map(Vec::as_slice))
                .collect()
        });
        let weight = dense.map_or(0.0, |d| d.weight);
        let examples: Vec<Example> = examples
            .iter()
            .filter(|e| !e.label.is_empty())
            .cloned()
            .chain(background.iter().map(|t| Example {
                text: (*t).to_owned(),
                label: String::new(),
            }))
            .collect();
        let featurizer = Featurizer::default();
        let tokens: Vec<Tokens> = examples
            .iter()
            .map(|e| featurizer.tokens(&e.text))
            .collect();
        let y: Vec<u32> = examples
            .iter()
            .map(|e| labels.binary_search(&e.label).unwrap_or(0) as u32)
            .collect();
        let classes = labels.len();

        let held: Vec<usize> = (0..examples.len()).filter(|i| i % 5 == 4).collect();
        let labelled = |rows: &[usize]| -> Vec<usize> {
            rows.iter()
                .copied()
                .filter(|i| Some(y[*i] as usize) != hidden)
                .collect()
        };
        // With enough labels, the first round also leaves every fifth label
        // out altogether: its held-out examples are then questions no label
        // covers, answered wrong whatever the margins say, and the
        // calibration learns what such a question looks like.
        let named = classes - usize::from(hidden.is_some());
        let unseen = |label: u32| {
            named >= UNSEEN_FROM_LABELS && Some(label as usize) != hidden && label % 5 == 2
        };
        let (calibration, usual) = if held.len() >= MIN_HELD_OUT {
            let kept: Vec<usize> = (0..examples.len())
                .filter(|i| i % 5 != 4 && !unseen(y[*i]))
                .collect();
            let t: Vec<Tokens> = kept.iter().map(|i| tokens[*i].clone()).collect();
            let ky: Vec<u32> = kept.iter().map(|i| y[*i]).collect();
            let kd = vectors
                .as_ref()
                .map(|v| (kept.iter().map(|i| v[*i]).collect::<Vec<_>>(), weight));
            let (vocabulary, model) = fit(&t, kd, &ky, classes, params);
            let near = vectors
                .as_ref()
                .map(|v| Neighbours::new(v, &y, &labelled(&kept), classes));
            let points: Vec<Point> = held
                .iter()
                .filter(|i| Some(y[**i] as usize) != hidden)
                .map(|i| {
                    let e = vectors.as_ref().map(|v| (v[*i], weight));
                    let x = with_dense(vocabulary.vector(&tokens[*i]), vocabulary.len(), e);
                    let mut m = model.scores(&x);
                    for (k, v) in m.iter_mut().enumerate() {
                        if Some(k) == hidden || unseen(k as u32) {
                            *v = f32::NEG_INFINITY;
                        }
                    }
                    let l = leads(&m);
                    let best = (0..m.len())
                        .max_by(|a, b| m[*a].total_cmp(&m[*b]))
                        .unwrap_or(0);
                    let near = match (&near, &vectors) {
                        (Some(n), Some(v)) => unit(v[*i]).map_or(0.0, |u| n.nearest(best, &u)),
                        _ => 0.0,
                    };
                    Point {
                        margin: l[best].0,
                        lead: l[best].1,
                        near,
                        right: best == y[*i] as usize,
                        weight: if unseen(y[*i]) { UNSEEN_WEIGHT } else { 1.0 },
                    }
                })
                .collect();
            let c = Calibration::fit(&points, near.is_some());
            let weight = points.iter().map(|p| p.weight).sum::<f32>().max(1e-3);
            let usual = points.iter().map(|p| p.weight * p.near).sum::<f32>() / weight;
            (c, usual)
        } else {
            (PRIOR, 0.0)
        };
        let dims = vectors
            .as_ref()
            .and_then(|v| v.first().map(|e| e.len()))
            .unwrap_or(0);
        let near = vectors.as_ref().map(|v| {
            let all: Vec<usize> = (0..v.len()).collect();
            Neighbours {
                usual,
                ..Neighbours::new(v, &y, &labelled(&all), classes)
            }
        });
        let (vocabulary, model) = fit(&tokens, vectors.map(|v| (v, weight)), &y, classes, params);
        Some(Classifier {
            featurizer,
            vocabulary,
            model,
            labels,
            calibration,
            hidden,
            dense: dense.map(|_| (dims, weight)),
            near,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// The labels for `text`, best first, at most `limit`.
    pub fn predict(&self, text: &str, limit: usize) -> Prediction {
        self.predict_dense(text, None, limit)
    }

    /// The labels for `text` with its embedding (a hybrid's; ignored by a
    /// classifier trained on words alone, and one of the wrong length counts
    /// as none).
    pub fn predict_dense(&self, text: &str, dense: Option<&[f32]>, limit: usize) -> Prediction {
        let e = match (self.dense, dense) {
            (Some((dims, w)), Some(e)) if e.len() == dims => Some((e, w)),
            _ => None,
        };
        let v = with_dense(
            self.vocabulary.vector(&self.featurizer.tokens(text)),
            self.vocabulary.len(),
            e,
        );
        let mut margins = self.model.scores(&v);
        if let Some(h) = self.hidden {
            margins[h] = f32::NEG_INFINITY;
        }
        let leads = leads(&margins);
        // The labels with the best margins; nearness, which takes a pass
        // over a label's examples, is measured for those only.
        let mut order: Vec<usize> = (0..margins.len())
            .filter(|k| Some(*k) != self.hidden)
            .collect();
        order.sort_by(|a, b| margins[*b].total_cmp(&margins[*a]));
        order.truncate(limit.max(1));
        let query = e.and_then(|(e, _)| unit(e));
        let mut ranked: Vec<(usize, f32)> = order
            .into_iter()
            .map(|k| {
                let near = match (&self.near, &query) {
                    (Some(n), Some(q)) => n.nearest(k, q),
                    (Some(n), None) => n.usual,
                    (None, _) => 0.0,
                };
                let (m, l) = leads[k];
                (k, self.calibration.confidence(m, l, near))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        Prediction { ranked }
    }

    /// Bytes the model takes, roughly.
    pub fn memory(&self) -> usize {
        self.vocabulary.memory()
            + self.model.memory()
            + self.near.as_ref().map_or(0, Neighbours::memory)
            + self.labels.iter().map(|l| l.capacity() + 24).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faq() -> Vec<Example> {
        let rows = [
            ("delivery", "где мой заказ"),
            ("delivery", "когда привезут посылку"),
            ("delivery", "как отследить доставку"),
            ("delivery", "where is my order"),
            ("returns", "как вернуть товар"),
            ("returns", "хочу оформить возврат"),
            ("returns", "how do I return an item"),
            ("payment", "как оплатить картой"),
            ("payment", "не проходит оплата"),
            ("payment", "can I pay by card"),
        ];
        rows.iter()
            .map(|(l, t)| Example {
                text: (*t).to_owned(),
                label: (*l).to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_hybrid_tells_apart_what_only_the_embeddings_tell_apart() {
        // Each label's texts share their words with the other's; only the
        // embeddings (one direction per label) say which is which.
        let mut examples = Vec::new();
        let mut vectors = Vec::new();
        for i in 0..30 {
            for (label, e) in [("a", vec![1.0, 0.0]), ("b", vec![0.0, 1.0])] {
                examples.push(Example {
                    text: format!("вопрос номер {}", i % 3),
                    label: label.to_owned(),
                });
                vectors.push(e);
            }
        }
        let dense = Dense {
            vectors: &vectors,
            weight: 2.0,
        };
        let c = Classifier::train_hybrid(&examples, dense, Params::default()).expect("two labels");
        let label = |e: &[f32]| {
            let (k, _) = c
                .predict_dense("вопрос номер 1", Some(e), 2)
                .best()
                .expect("a label");
            c.labels()[k].clone()
        };
        assert_eq!(label(&[1.0, 0.0]), "a");
        assert_eq!(label(&[0.0, 1.0]), "b");
        // Embeddings of another length are no embeddings; a count that does
        // not match the examples trains nothing.
        let _ = c.predict_dense("вопрос", Some(&[1.0]), 2);
        let short = Dense {
            vectors: &vectors[..3],
            weight: 1.0,
        };
        assert!(Classifier::train_hybrid(&examples, short, Params::default()).is_none());
    }

    #[test]
    fn nearness_is_weighed_only_where_it_tells_right_from_wrong() {
        // The same margins and leads; the held-out answers near their
        // label's examples were right, the far ones wrong.
        let points: Vec<Point> = (0..200)
            .map(|i| Point {
                margin: 0.2,
                lead: 0.5,
                near: if i % 2 == 0 { 0.92 } else { 0.84 },
                right: i % 2 == 0,
                weight: 1.0,
            })
            .collect();
        let c = Calibration::fit(&points, true);
        let (near, far) = (c.confidence(0.2, 0.5, 0.92), c.confidence(0.2, 0.5, 0.84));
        assert!(near > 0.8 && far < 0.3, "{c:?}: {near} / {far}");
        // Without nearness (a classifier of words) the weight stays 0; and
        // nearness that says nothing gets next to no weight.
        assert_eq!(Calibration::fit(&points, false).near, 0.0);
        let noise: Vec<Point> = (0..200)
            .map(|i| Point {
                near: if i % 4 < 2 { 0.92 } else { 0.84 },
                ..points[i]
            })
            .collect();
        let c = Calibration::fit(&noise, true);
        let gap = c.confidence(0.2, 0.5, 0.92) - c.confidence(0.2, 0.5, 0.84);
        assert!(gap.abs() < 0.05, "{c:?}: {gap}");
    }

    #[test]
    fn a_hybrid_is_less_sure_of_a_text_unlike_any_example() {
        // Two labels told apart by their words. Most examples' embeddings
        // point one way; one in five points a way of its own (a dimension
        // no other uses) and is labelled against its words: far from every
        // other example, and, held out, answered wrong.
        let words = [("a", "alpha"), ("b", "beta")];
        const N: usize = 200;
        let dims = 2 + N + 1;
        let mut examples = Vec::new();
        let mut vectors = Vec::new();
        for i in 0..N {
            let word = words[i % 2].1;
            let far = i % 5 >= 3 && i % 10 >= 8;
            let mut v = vec![0.0; dims];
            let label = if far {
                v[2 + i] = 1.0;
                words[(i + 1) % 2].0
            } else {
                v[0] = 1.0;
                v[1] = 0.1;
                words[i % 2].0
            };
            examples.push(Example {
                text: format!("{word} {}", i % 7),
                label: label.to_owned(),
            });
            vectors.push(v);
        }
        let dense = Dense {
            vectors: &vectors,
            weight: 0.5,
        };
        let c = Classifier::train_hybrid(&examples, dense, Params::default()).expect("two labels");
        assert!(c.calibration().near > 0.0, "{:?}", c.calibration());
        let conf = |e: &[f32]| {
            c.predict_dense("alpha 3", Some(e), 1)
                .best()
                .expect("a label")
                .1
        };
        let mut unlike = vec![0.0; dims];
        unlike[dims - 1] = 1.0;
        let mut like = vec![0.0; dims];
        (like[0], like[1]) = (1.0, 0.1);
        let (near, far) = (conf(&like), conf(&unlike));
        assert!(near > far + 0.05, "{near} / {far}");
        // Without its embedding the text is judged as a usual one.
        let none = c
            .predict_dense("alpha 3", None, 1)
            .best()
            .expect("a label")
            .1;
        assert!(none < near && none > far, "{none}");
    }

    #[test]
    fn labels_left_out_teach_what_a_question_no_label_covers_looks_like() {
        // Twelve labels, each text sharing a word with the next label's:
        // the words alone half tell them apart, the embeddings (one
        // direction per label) the rest. Every held-out answer of a label
        // that was trained on is right and near its examples, so only the
        // left-out labels show that a text far from every example is
        // answered wrong, however its words fall.
        const LABELS: usize = 12;
        let mut examples = Vec::new();
        let mut vectors = Vec::new();
        for k in 0..LABELS {
            for i in 0..100 {
                examples.push(Example {
                    text: format!("w{k} w{} v{}", (k + 1) % LABELS, i % 5),
                    label: format!("l{k:02}"),
                });
                let mut v = vec![0.0; LABELS + 1];
                v[k] = 1.0;
                v[(k + i) % LABELS] += 0.05;
                vectors.push(v);
            }
        }
        let dense = Dense {
            vectors: &vectors,
            weight: 1.0,
        };
        let c = Classifier::train_hybrid(&examples, dense, Params::default()).expect("labels");
        assert!(c.calibration().near > 0.0, "{:?}", c.calibration());
        let conf = |e: &[f32]| {
            let (k, conf) = c
                .predict_dense("w5 v1", Some(e), 1)
                .best()
                .expect("a label");
            (c.labels()[k].clone(), conf)
        };
        let mut like = vec![0.0; LABELS + 1];
        like[5] = 1.0;
        let mut unlike = vec![0.0; LABELS + 1];
        unlike[LABELS] = 1.0;
        let ((label, near), (_, far)) = (conf(&like), conf(&unlike));
        assert_eq!(label, "l05");
        assert!(near > 0.8 && far < near - 0.3, "{near} / {far}");
    }

    #[test]
    fn known_questions_are_sure_and_unknown_ones_are_not() {
        let c = Classifier::train(&faq(), Params::default()).expect("three labels");
        let best = |t: &str| {
            let (k, conf) = c.predict(t, 3).best().expect("a label");
            (c.labels()[k].clone(), conf)
        };
        let (label, sure) = best("где мой заказ?");
        assert_eq!(label, "delivery");
        assert!(sure > 0.7, "{sure}");
        let (label, _) = best("хочу вернуть товар");
        assert_eq!(label, "returns");
        for unrelated in ["какая погода в москве", "tell me a joke", "ขอสูตรต้มยำ"]
        {
            let (_, conf) = best(unrelated);
            assert!(conf < 0.5, "{unrelated}: {conf}");
        }
    }

    #[test]
    fn one_label_is_nothing_to_learn() {
        let one: Vec<Example> = faq().into_iter().filter(|e| e.label == "payment").collect();
        assert!(Classifier::train(&one, Params::default()).is_none());
        assert!(Classifier::train(&[], Params::default()).is_none());
    }
}
