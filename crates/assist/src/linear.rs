//! A linear classifier over sparse vectors: one-vs-rest support vector
//! machines (L2-regularised, squared hinge loss) trained by dual coordinate
//! descent, as LIBLINEAR does (Hsieh et al., "A Dual Coordinate Descent Method
//! for Large-scale Linear SVM", ICML 2008). It converges in a few passes over
//! the data, needs no learning rate, and is as accurate as anything linear on
//! short texts.

use crate::features::Sparse;

/// How training goes.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// The cost of a margin violation; higher fits the examples closer.
    pub c: f32,
    /// Most passes over the data per class.
    pub max_passes: usize,
    /// Training stops when the projected gradient's spread falls below this.
    pub tolerance: f32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            c: 1.0,
            max_passes: 50,
            tolerance: 0.1,
        }
    }
}

/// A trained model: one weight per (feature, class) and a bias per class.
#[derive(Clone, Debug, Default)]
pub struct Linear {
    classes: usize,
    /// Feature-major: the weights of feature `f` are
    /// `weights[f * classes .. (f + 1) * classes]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// A small deterministic generator for the order of examples.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// The bias is a feature that is always 1.
const BIAS: f32 = 1.0;

fn train_one(x: &[Sparse], positive: &[bool], features: usize, p: Params) -> (Vec<f32>, f32) {
    let n = x.len();
    let mut w = vec![0f32; features];
    let mut b = 0f32;
    let mut alpha = vec![0f32; n];
    let diag = 0.5 / p.c;
    let qd: Vec<f32> = x.iter().map(|v| v.norm2() + BIAS * BIAS + diag).collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..p.max_passes {
        rng.shuffle(&mut order);
        let (mut max_pg, mut min_pg) = (f32::NEG_INFINITY, f32::INFINITY);
        for &i in &order {
            let y = if positive[i] { 1.0 } else { -1.0 };
            let xi = &x[i];
            let mut margin = b * BIAS;
            for (f, v) in xi.idx.iter().zip(&xi.val) {
                margin += w[*f as usize] * v;
            }
            let g = y * margin - 1.0 + diag * alpha[i];
            let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            max_pg = max_pg.max(pg);
            min_pg = min_pg.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let d = (alpha[i] - old) * y;
                if d != 0.0 {
                    for (f, v) in xi.idx.iter().zip(&xi.val) {
                        w[*f as usize] += d * v;
                    }
                    b += d * BIAS;
                }
            }
        }
        if max_pg - min_pg < p.tolerance {
            break;
        }
    }
    (w, b)
}

impl Linear {
    /// Trains on `x` with labels `y` (each below `classes`) over `features`
    /// feature indices, the classes split among the machine's cores.
    pub fn train(x: &[Sparse], y: &[u32], classes: usize, features: usize, p: Params) -> Linear {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8)
            .min(classes.max(1));
        let mut columns: Vec<(usize, Vec<f32>, f32)> = Vec::with_capacity(classes);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        (t..classes)
                            .step_by(threads)
                            .map(|k| {
                                let positive: Vec<bool> =
                                    y.iter().map(|l| *l as usize == k).collect();
                                let (w, b) = train_one(x, &positive, features, p);
                                (k, w, b)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                if let Ok(part) = h.join() {
                    columns.extend(part);
                }
            }
        });
        let mut model = Linear {
            classes,
            weights: vec![0.0; features * classes],
            bias: vec![0.0; classes],
        };
        for (k, w, b) in columns {
            for (f, v) in w.into_iter().enumerate() {
                model.weights[f * classes + k] = v;
            }
            model.bias[k] = b;
        }
        model
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The margin of every class for `x`.
    pub fn scores(&self, x: &Sparse) -> Vec<f32> {
        let mut s = self.bias.clone();
        for (f, v) in x.idx.iter().zip(&x.val) {
            let from = *f as usize * self.classes;
            if let Some(row) = self.weights.get(from..from + self.classes) {
                for (acc, w) in s.iter_mut().zip(row) {
                    *acc += w * v;
                }
            }
        }
        s
    }

    /// Bytes the weights take.
    pub fn memory(&self) -> usize {
        (self.weights.capacity() + self.bias.capacity()) * 4
    }
}

/// Probabilities from margins: a softmax at `temperature` (fitted on held-out
/// data, so that a confidence of 0.8 is right about 80 % of the time).
pub fn softmax(scores: &[f32], temperature: f32) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores
        .iter()
        .map(|s| ((s - max) / temperature).exp())
        .collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}
