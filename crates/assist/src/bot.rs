//! The models the engine asks for ([`engine::assist::Assistant`]): one answer
//! classifier per workspace, kept with the stamp of the data it learnt from.

use crate::classifier::{Classifier, Example};
use crate::linear::Params;
use crate::{lang, signals};
use domain::ids::WorkspaceId;
use engine::assist::{AnswerDoc, Assistant, Guess, Language, Reading};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A label for what no answer covers: greetings, thanks, small talk. With it a
/// workspace with a single FAQ entry still has two labels to tell apart, and a
/// "hello" is not taken for a question.
const SMALL_TALK: &str = "small-talk";
const SMALL_TALK_TEXTS: &[&str] = &[
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
}

/// Every workspace's answer model on this node.
#[derive(Clone, Default)]
pub struct Bot {
    models: Arc<RwLock<HashMap<WorkspaceId, Arc<Model>>>>,
}

impl Bot {
    /// Bytes the models take, roughly.
    pub fn memory(&self) -> usize {
        self.models
            .read()
            .map(|m| m.values().map(|m| m.classifier.memory()).sum())
            .unwrap_or(0)
    }
}

impl Assistant for Bot {
    fn stamp(&self, ws: WorkspaceId) -> Option<String> {
        self.models
            .read()
            .ok()
            .and_then(|m| m.get(&ws).map(|m| m.stamp.clone()))
    }

    fn train(&self, ws: WorkspaceId, stamp: String, answers: Vec<AnswerDoc>) {
        let mut examples: Vec<Example> = answers
            .iter()
            .flat_map(|a| {
                a.texts.iter().map(|t| Example {
                    text: t.clone(),
                    label: a.key.clone(),
                })
            })
            .collect();
        let classifier = if answers.is_empty() {
            None
        } else {
            examples.extend(SMALL_TALK_TEXTS.iter().map(|t| Example {
                text: (*t).to_owned(),
                label: SMALL_TALK.to_owned(),
            }));
            Classifier::train(&examples, Params::default())
        };
        if let Ok(mut m) = self.models.write() {
            // Nothing learnt is not kept: the next question looks again, and
            // trains at once on the first entries a workspace writes.
            match classifier {
                Some(c) => m.insert(
                    ws,
                    Arc::new(Model {
                        stamp,
                        classifier: c,
                    }),
                ),
                None => m.remove(&ws),
            };
        }
    }

    fn guesses(&self, ws: WorkspaceId, text: &str, limit: usize) -> Vec<Guess> {
        let model = self.models.read().ok().and_then(|m| m.get(&ws).cloned());
        let Some(c) = model.as_ref().map(|m| &m.classifier) else {
            return Vec::new();
        };
        c.predict(text, limit)
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
