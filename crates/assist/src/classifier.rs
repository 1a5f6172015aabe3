//! A text classifier trained in-process: features (`features`), a linear model
//! (`linear`), and a calibration that turns its margins into confidences.
//!
//! The calibration is fitted on examples held out of a first training round
//! (every fifth), so that among answers given with confidence 0.8 about 80 %
//! are right; the model is then trained again on everything. A workspace's
//! threshold is therefore a statement about accuracy, not about a score scale.

use crate::features::{Featurizer, Sparse, Tokens, Vocabulary};
use crate::linear::{Linear, Params};

/// Fewest held-out examples that fit a calibration.
const MIN_HELD_OUT: usize = 40;

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
    bias: -1.0,
};

impl Calibration {
    fn confidence(&self, margin: f32, lead: f32) -> f32 {
        1.0 / (1.0 + (-(self.margin * margin + self.lead * lead + self.bias)).exp())
    }

    /// Fitted by gradient descent on the log loss, starting from the prior and
    /// pulled gently towards it (a few held-out mistakes must not make it
    /// extreme).
    fn fit(points: &[(f32, f32, bool)]) -> Calibration {
        let mut c = PRIOR;
        let n = points.len().max(1) as f32;
        let pull = 0.01;
        for _ in 0..500 {
            let (mut gm, mut gl, mut gb) = (0f32, 0f32, 0f32);
            for (m, l, right) in points {
                let e = c.confidence(*m, *l) - if *right { 1.0 } else { 0.0 };
                gm += e * m;
                gl += e * l;
                gb += e;
            }
            let rate = 2.0;
            c.margin -= rate * (gm / n + pull * (c.margin - PRIOR.margin));
            c.lead -= rate * (gl / n + pull * (c.lead - PRIOR.lead));
            c.bias -= rate * (gb / n + pull * (c.bias - PRIOR.bias));
        }
        c
    }
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
        let calibration = if held.len() >= MIN_HELD_OUT {
            let kept: Vec<usize> = (0..examples.len()).filter(|i| i % 5 != 4).collect();
            let t: Vec<Tokens> = kept.iter().map(|i| tokens[*i].clone()).collect();
            let ky: Vec<u32> = kept.iter().map(|i| y[*i]).collect();
            let kd = vectors
                .as_ref()
                .map(|v| (kept.iter().map(|i| v[*i]).collect::<Vec<_>>(), weight));
            let (vocabulary, model) = fit(&t, kd, &ky, classes, params);
            let points: Vec<(f32, f32, bool)> = held
                .iter()
                .filter(|i| Some(y[**i] as usize) != hidden)
                .map(|i| {
                    let e = vectors.as_ref().map(|v| (v[*i], weight));
                    let x = with_dense(vocabulary.vector(&tokens[*i]), vocabulary.len(), e);
                    let mut m = model.scores(&x);
                    if let Some(h) = hidden {
                        m[h] = f32::NEG_INFINITY;
                    }
                    let l = leads(&m);
                    let best = (0..m.len())
                        .max_by(|a, b| m[*a].total_cmp(&m[*b]))
                        .unwrap_or(0);
                    (l[best].0, l[best].1, best == y[*i] as usize)
                })
                .collect();
            Calibration::fit(&points)
        } else {
            PRIOR
        };
        let dims = vectors
            .as_ref()
            .and_then(|v| v.first().map(|e| e.len()))
            .unwrap_or(0);
        let (vocabulary, model) = fit(&tokens, vectors.map(|v| (v, weight)), &y, classes, params);
        Some(Classifier {
            featurizer,
            vocabulary,
            model,
            labels,
            calibration,
            hidden,
            dense: dense.map(|_| (dims, weight)),
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
        let mut ranked: Vec<(usize, f32)> = leads(&margins)
            .into_iter()
            .map(|(m, l)| self.calibration.confidence(m, l))
            .enumerate()
            .filter(|(k, _)| Some(*k) != self.hidden)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(limit.max(1));
        Prediction { ranked }
    }

    /// Bytes the model takes, roughly.
    pub fn memory(&self) -> usize {
        self.vocabulary.memory()
            + self.model.memory()
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
