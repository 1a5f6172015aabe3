//! The models the engine asks for ([`engine::assist::Assistant`]): per
//! workspace an answer classifier and a category classifier, each kept with
//! the stamp of the data it learnt from.

use crate::classifier::{Classifier, Dense, Example};
use crate::linear::Params;
use crate::{lang, signals};
use domain::ids::WorkspaceId;
use engine::assist::{AnswerDoc, Assistant, Guess, Language, ModelKind, Reading, TextVectors};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What no answer or category covers — greetings, thanks, small talk — learnt
/// by every label as what it is not (see
/// [`Classifier::train_with_background`]): a "hello" is not taken for a
/// question, and a workspace with a single FAQ entry still has something to
/// tell it from.
const SMALL_TALK: &[&str] = &[
    "привет",
    "здравствуйте",
    "добрый день",
    "добрый вечер",
    "спасибо",
    "спасибо большое",
    "ок",
    "понятно",
    "хорошо",
    "как дела",
    "пока",
    "до свидания",
    "ты бот?",
    "кто ты",
    "hi",
    "hello",
    "hey there",
    "good morning",
    "thanks",
    "thank you",
    "ok",
    "okay",
    "got it",
    "how are you",
    "bye",
    "goodbye",
    "are you a bot",
    "who are you",
    "สวัสดี",
    "สวัสดีครับ",
    "สวัสดีค่ะ",
    "ขอบคุณ",
    "ขอบคุณครับ",
    "ขอบคุณค่ะ",
    "โอเค",
    "เข้าใจแล้ว",
    "สบายดีไหม",
    "บาย",
    "คุณเป็นบอทหรือเปล่า",
];

struct Model {
    stamp: String,
    classifier: Classifier,
    /// Trained with embeddings: predictions want the text's too.
    hybrid: bool,
    /// A hybrid's twin on words alone, for a text whose embedding the
    /// provider did not give (without one a hybrid loses most of its margin).
    words: Option<Classifier>,
}

/// A node's models by workspace and kind.
type Models = HashMap<(WorkspaceId, ModelKind), Arc<Model>>;

/// Every workspace's models on this node.
#[derive(Clone, Default)]
pub struct Bot {
    models: Arc<RwLock<Models>>,
}

impl Bot {
    /// Bytes the models take, roughly.
    pub fn memory(&self) -> usize {
        self.models
            .read()
            .map(|m| {
                m.values()
                    .map(|m| m.classifier.memory() + m.words.as_ref().map_or(0, Classifier::memory))
                    .sum()
            })
            .unwrap_or(0)
    }
}

impl Assistant for Bot {
    fn stamp(&self, ws: WorkspaceId, kind: ModelKind) -> Option<String> {
        self.models
            .read()
            .ok()
            .and_then(|m| m.get(&(ws, kind)).map(|m| m.stamp.clone()))
    }

    fn background(&self) -> Vec<String> {
        SMALL_TALK.iter().map(|t| (*t).to_owned()).collect()
    }

    fn hybrid(&self, ws: WorkspaceId, kind: ModelKind) -> bool {
        self.models
            .read()
            .ok()
            .and_then(|m| m.get(&(ws, kind)).map(|m| m.hybrid))
            .unwrap_or(false)
    }

    fn train(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        stamp: String,
        answers: Vec<AnswerDoc>,
        dense: Option<TextVectors>,
    ) {
        let examples: Vec<Example> = answers
            .iter()
            .flat_map(|a| {
                a.texts.iter().map(|t| Example {
                    text: t.clone(),
                    label: a.key.clone(),
                })
            })
            .collect();
        // Every text's embedding, the examples' then the background's; a
        // text without one leaves the model to words alone.
        let vectors: Option<(Vec<Vec<f32>>, f32)> = dense.and_then(|d| {
            let texts = examples.iter().map(|e| e.text.as_str());
            texts
                .chain(SMALL_TALK.iter().copied())
                .map(|t| d.by_text.get(t).map(|v| v.to_vec()))
                .collect::<Option<Vec<_>>>()
                .map(|v| (v, d.weight))
        });
        let words = if answers.is_empty() {
            None
        } else {
            Classifier::train_with_background(&examples, SMALL_TALK, Params::default())
        };
        let (classifier, words) = match (&vectors, words) {
            (Some((vectors, weight)), Some(words)) => {
                let dense = Dense {
                    vectors,
                    weight: *weight,
                };
                match Classifier::train_hybrid_with_background(
                    &examples,
                    SMALL_TALK,
                    dense,
                    Params::default(),
                ) {
                    Some(h) => (Some(h), Some(words)),
                    None => (Some(words), None),
                }
            }
            (_, words) => (words, None),
        };
        let hybrid = words.is_some();
        if let Ok(mut m) = self.models.write() {
            // Nothing learnt is not kept: the next question looks again, and
            // trains at once on the first entries a workspace writes.
            match classifier {
                Some(c) => m.insert(
                    (ws, kind),
                    Arc::new(Model {
                        stamp,
                        classifier: c,
                        hybrid,
                        words,
                    }),
                ),
                None => m.remove(&(ws, kind)),
            };
        }
    }

    fn guesses(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        text: &str,
        embedding: Option<&[f32]>,
        limit: usize,
    ) -> Vec<Guess> {
        let model = self
            .models
            .read()
            .ok()
            .and_then(|m| m.get(&(ws, kind)).cloned());
        let Some(m) = model.as_ref() else {
            return Vec::new();
        };
        let c = match (&m.words, embedding) {
            (Some(words), None) => words,
            _ => &m.classifier,
        };
        c.predict_dense(text, embedding, limit)
            .ranked
            .into_iter()
            .map(|(k, confidence)| Guess {
                key: c.labels()[k].clone(),
                confidence,
            })
            .collect()
    }

    fn read(&self, text: &str) -> Reading {
        let s = signals::read(text);
        Reading {
            language: lang::detect(text).map(|l| Language {
                code: l.code,
                name: l.name,
                confidence: l.confidence,
            }),
            asks_for_human: s.asks_for_human,
            urgent: s.urgent,
            urgency_confidence: s.urgency_confidence,
            sentiment: s.sentiment.to_owned(),
            sentiment_confidence: s.sentiment_confidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(key: &str, texts: &[&str]) -> AnswerDoc {
        AnswerDoc {
            key: key.to_owned(),
            texts: texts.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn a_few_examples_sort_messages_in_three_languages() {
        let bot = Bot::default();
        let ws = WorkspaceId::new();
        bot.train(
            ws,
            ModelKind::Categories,
            "1".into(),
            vec![
                doc(
                    "delivery",
                    &[
                        "Доставка",
                        "Где заказ, сроки доставки, курьер, посылка не пришла",
                        "где мой заказ",
                        "когда привезут посылку",
                        "курьер не приехал",
                        "where is my parcel",
                        "my order has not arrived",
                        "ยังไม่ได้รับพัสดุ",
                        "พัสดุจะมาถึงเมื่อไหร่",
                    ],
                ),
                doc(
                    "returns",
                    &[
                        "Возврат",
                        "Вернуть товар, обмен, возврат денег",
                        "хочу вернуть товар",
                        "как оформить возврат",
                        "не подошёл размер",
                        "I want to return the shoes",
                        "how do I get a refund",
                        "ขอคืนสินค้า",
                    ],
                ),
                doc(
                    "payment",
                    &[
                        "Оплата",
                        "Оплата картой, счёт, списание денег",
                        "не проходит оплата",
                        "дважды списали деньги",
                        "payment failed",
                        "charged twice",
                        "จ่ายเงินไม่ได้",
                    ],
                ),
            ],
            None,
        );
        for (text, want) in [
            (
                "Hello, I'd like to return the jacket, it doesn't fit",
                "returns",
            ),
            ("Когда привезут мой заказ? Жду уже неделю", "delivery"),
            ("my card payment failed twice", "payment"),
        ] {
            let g = bot.guesses(ws, ModelKind::Categories, text, None, 3);
            assert_eq!(g[0].key, want, "{text}: {g:?}");
            assert!(g[0].confidence >= 0.5, "{text}: {g:?}");
        }
        assert_eq!(bot.stamp(ws, ModelKind::Categories).as_deref(), Some("1"));
        assert_eq!(bot.stamp(ws, ModelKind::Answers), None);
    }
}
