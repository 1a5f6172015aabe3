//! A text classifier trained in-process: features (`features`), a linear model
//! (`linear`), and a temperature that turns its margins into confidences.
//!
//! The temperature is fitted on examples held out of a first training round
//! (every fifth), so that among answers given with confidence 0.8 about 80 %
//! are right; the model is then trained again on everything. A workspace's
//! threshold is therefore a statement about accuracy, not about a score scale.

use crate::features::{Featurizer, Sparse, Tokens, Vocabulary};
use crate::linear::{Linear, Params, softmax};

/// The temperature used when too few examples are held out to fit one.
const DEFAULT_TEMPERATURE: f32 = 0.1;
/// Fewest held-out examples that fit a temperature.
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
    temperature: f32,
}

/// The classifier's answer for one text: the labels best first, each with its
/// confidence (they sum to at most 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub ranked: Vec<(usize, f32)>,
}

impl Prediction {
    pub fn best(&self) -> Option<(usize, f32)> {
        self.ranked.first().copied()
    }
}

fn fit(
    featurizer: &Featurizer,
    tokens: &[Tokens],
    y: &[u32],
    classes: usize,
    p: Params,
) -> (Vocabulary, Linear, Vec<Sparse>) {
    let vocabulary = Vocabulary::fit(tokens, 1);
    let x: Vec<Sparse> = tokens.iter().map(|t| vocabulary.vector(t)).collect();
    let model = Linear::train(&x, y, classes, vocabulary.len(), p);
    let _ = featurizer;
    (vocabulary, model, x)
}

/// The temperature that makes `margins` (with their true classes) most likely.
fn fit_temperature(margins: &[(Vec<f32>, usize)]) -> f32 {
    let nll = |t: f32| -> f32 {
        margins
            .iter()
            .map(|(m, k)| -softmax(m, t)[*k].max(1e-9).ln())
            .sum()
    };
    let mut best = (f32::INFINITY, DEFAULT_TEMPERATURE);
    let mut t = 0.01f32;
    while t <= 1.0 {
        let l = nll(t);
        if l < best.0 {
            best = (l, t);
        }
        t *= 1.1;
    }
    best.1
}

impl Classifier {
    /// Trains on `examples`; labels are ordered by name. `None` when there is
    /// nothing to learn (no examples, or one label only).
    pub fn train(examples: &[Example], params: Params) -> Option<Classifier> {
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        labels.sort();
        labels.dedup();
        if labels.len() < 2 {
            return None;
        }
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
        let temperature = if held.len() >= MIN_HELD_OUT {
            let kept: Vec<usize> = (0..examples.len()).filter(|i| i % 5 != 4).collect();
            let t: Vec<Tokens> = kept.iter().map(|i| tokens[*i].clone()).collect();
            let ky: Vec<u32> = kept.iter().map(|i| y[*i]).collect();
            let (vocabulary, model, _) = fit(&featurizer, &t, &ky, classes, params);
            let margins: Vec<(Vec<f32>, usize)> = held
                .iter()
                .map(|i| {
                    (
                        model.scores(&vocabulary.vector(&tokens[*i])),
                        y[*i] as usize,
                    )
                })
                .collect();
            fit_temperature(&margins)
        } else {
            DEFAULT_TEMPERATURE
        };
        let (vocabulary, model, _) = fit(&featurizer, &tokens, &y, classes, params);
        Some(Classifier {
            featurizer,
            vocabulary,
            model,
            labels,
            temperature,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// The labels for `text`, best first, at most `limit`.
    pub fn predict(&self, text: &str, limit: usize) -> Prediction {
        let v = self.vocabulary.vector(&self.featurizer.tokens(text));
        let p = softmax(&self.model.scores(&v), self.temperature);
        let mut ranked: Vec<(usize, f32)> = p.into_iter().enumerate().collect();
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
