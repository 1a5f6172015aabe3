//! Text as sparse vectors: the search engine's stemmed words, pairs of
//! adjacent words, and character n-grams inside words, weighted by tf-idf.
//!
//! Words carry meaning where the vocabulary is shared; character n-grams carry
//! it through typos, unseen word forms and Thai, where a misspelt word breaks
//! the segmenter. Each group is normalised on its own, so a long text of
//! n-grams cannot drown its few words.

use search::analysis::Words;
use std::collections::HashMap;

/// Kinds of features, each normalised on its own.
const GROUPS: usize = 3;
const WORD: u8 = 0;
const PAIR: u8 = 1;
const GRAM: u8 = 2;

/// The shortest and longest character n-gram.
const GRAM_MIN: usize = 2;
const GRAM_MAX: usize = 5;

/// Texts longer than this (in characters) are cut before analysis: a triage
/// decision does not need the tail of a forwarded thread, and the cost of a
/// prediction stays bounded whatever is sent.
pub const MAX_CHARS: usize = 2_000;

/// 64-bit FNV-1a: a stable hash for feature keys (models are rebuilt from
/// data, never stored, but a stable key keeps runs comparable).
fn fnv(group: u8, s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(group);
    h = h.wrapping_mul(0x0000_0100_0000_01b3);
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A text's features before weighting: a key and its group, with repeats.
#[derive(Clone, Default)]
pub struct Tokens {
    pub keys: Vec<(u64, u8)>,
}

/// Turns text into feature keys.
#[derive(Clone, Default)]
pub struct Featurizer {
    words: Words,
}

fn normalise_char(c: char) -> char {
    match c {
        'ё' => 'е',
        c if c.is_ascii_digit() => '0',
        // Thai tone marks and thanthakhat are often typed wrong or left out.
        '\u{0E47}'..='\u{0E4C}' => '\u{0}',
        c => c,
    }
}

impl Featurizer {
    pub fn tokens(&self, text: &str) -> Tokens {
        let text = match text.char_indices().nth(MAX_CHARS) {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        let split = self.words.split(text);
        let mut keys = Vec::with_capacity(split.len() * 12);
        let mut prev = String::from("^");
        let mut gram: Vec<char> = Vec::with_capacity(32);
        for token in &split {
            let term = if token.text.bytes().all(|b| b.is_ascii_digit()) {
                format!("#{}", token.text.len().min(12))
            } else {
                token.text.clone()
            };
            keys.push((fnv(WORD, &term), WORD));
            keys.push((fnv(PAIR, &format!("{prev} {term}")), PAIR));
            gram.clear();
            gram.push(' ');
            gram.extend(
                text[token.offset_from..token.offset_to]
                    .chars()
                    .flat_map(char::to_lowercase)
                    .map(normalise_char)
                    .filter(|c| *c != '\u{0}'),
            );
            gram.push(' ');
            let mut s = String::with_capacity(24);
            for n in GRAM_MIN..=GRAM_MAX {
                for w in gram.windows(n) {
                    s.clear();
                    s.extend(w);
                    keys.push((fnv(GRAM, &s), GRAM));
                }
            }
            prev = term;
        }
        keys.push((fnv(PAIR, &format!("{prev} $")), PAIR));
        Tokens { keys }
    }
}

/// A sparse vector: feature indices ascending, with their values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sparse {
    pub idx: Vec<u32>,
    pub val: Vec<f32>,
}

impl Sparse {
    pub fn dot(&self, other: &Sparse) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < self.idx.len() && j < other.idx.len() {
            match self.idx[i].cmp(&other.idx[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.val[i] * other.val[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    pub fn norm2(&self) -> f32 {
        self.val.iter().map(|v| v * v).sum()
    }
}

/// The features a training set knows, with their inverse document frequency.
#[derive(Clone, Default)]
pub struct Vocabulary {
    index: HashMap<u64, u32>,
    idf: Vec<f32>,
    group: Vec<u8>,
    /// How much each group weighs in a vector (after its own normalisation).
    weight: [f32; GROUPS],
}

impl Vocabulary {
    /// Learns the features of `docs`; a feature seen in fewer than `min_df`
    /// documents is left out.
    pub fn fit(docs: &[Tokens], min_df: u32) -> Vocabulary {
        let mut df: HashMap<(u64, u8), u32> = HashMap::new();
        for d in docs {
            let mut seen: Vec<(u64, u8)> = d.keys.clone();
            seen.sort_unstable();
            seen.dedup();
            for k in seen {
                *df.entry(k).or_default() += 1;
            }
        }
        let mut kept: Vec<((u64, u8), u32)> =
            df.into_iter().filter(|(_, n)| *n >= min_df).collect();
        kept.sort_unstable();
        let n = docs.len() as f32;
        let mut v = Vocabulary {
            weight: [1.0, 1.0, 1.0],
            ..Vocabulary::default()
        };
        for ((key, group), count) in kept {
            let i = v.idf.len() as u32;
            v.index.insert(key, i);
            v.idf.push(((1.0 + n) / (1.0 + count as f32)).ln() + 1.0);
            v.group.push(group);
        }
        v
    }

    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    pub fn set_weights(&mut self, word: f32, pair: f32, gram: f32) {
        self.weight = [word, pair, gram];
    }

    /// The tf-idf vector of a text: sublinear term frequency, each group
    /// normalised to its weight.
    pub fn vector(&self, tokens: &Tokens) -> Sparse {
        let mut counts: Vec<u32> = tokens
            .keys
            .iter()
            .filter_map(|(k, _)| self.index.get(k).copied())
            .collect();
        counts.sort_unstable();
        let mut out = Sparse::default();
        let mut i = 0;
        while i < counts.len() {
            let f = counts[i];
            let mut j = i;
            while j < counts.len() && counts[j] == f {
                j += 1;
            }
            let tf = 1.0 + ((j - i) as f32).ln();
            out.idx.push(f);
            out.val.push(tf * self.idf[f as usize]);
            i = j;
        }
        let mut norms = [0f32; GROUPS];
        for (f, v) in out.idx.iter().zip(&out.val) {
            norms[self.group[*f as usize] as usize] += v * v;
        }
        for (f, v) in out.idx.iter().zip(out.val.iter_mut()) {
            let g = self.group[*f as usize] as usize;
            *v *= self.weight[g] / norms[g].sqrt();
        }
        out
    }

    /// Bytes the vocabulary takes, roughly.
    pub fn memory(&self) -> usize {
        self.index.capacity() * (8 + 4 + 8) + self.idf.capacity() * 4 + self.group.capacity()
    }
}
