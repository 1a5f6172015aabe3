//! What a message says besides its topic: that the customer asks for a person,
//! that it is urgent, and how they feel. Word lists in Russian, English and
//! Thai, matched on the search engine's terms (so `операторa`, `оператору`
//! and `оператор` are one), plus the marks of shouting (`!!!`, capitals).
//! These are rules, not learned: they must work on a workspace's first day,
//! and a customer asking for a person must never depend on a model's mood.

use search::analysis::query_terms;
use std::sync::OnceLock;

/// A phrase matches when its terms follow each other in the message's terms
/// ("сколько можно", not "сколько баллов можно списать").
struct Phrases(Vec<Vec<String>>);

impl Phrases {
    fn new(list: &[&str]) -> Phrases {
        Phrases(
            list.iter()
                .map(|p| query_terms(p))
                .filter(|t| !t.is_empty())
                .collect(),
        )
    }
    fn count(&self, terms: &[String]) -> usize {
        self.0
            .iter()
            .filter(|p| terms.windows(p.len()).any(|w| w == p.as_slice()))
            .count()
    }
}

struct Lists {
    human: Phrases,
    urgent: Phrases,
    negative: Phrases,
    positive: Phrases,
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| Lists {
        human: Phrases::new(&[
            // Russian
            "оператор",
            "оператора",
            "оператором",
            "менеджер",
            "менеджера",
            "специалист",
            "специалиста",
            "сотрудник",
            "сотрудника",
            "живой человек",
            "живого человека",
            "позовите человека",
            "позвать человека",
            "позови человека",
            "соедините с человеком",
            "поговорить с человеком",
            "хочу с человеком",
            "нужен человек",
            "человека позовите",
            "не бот",
            "не робот",
            // English
            "operator",
            "human",
            "real person",
            "live person",
            "live agent",
            "an agent",
            "talk to agent",
            "speak to agent",
            "representative",
            "talk to someone",
            "speak to someone",
            "talk to a person",
            "speak to a person",
            "customer service agent",
            "support agent",
            "not a bot",
            "real human",
            // Thai: staff, officer, admin, talk to a person, operator
            "พนักงาน",
            "เจ้าหน้าที่",
            "แอดมิน",
            "คุยกับคน",
            "ขอคุยกับคน",
            "โอเปอเรเตอร์",
            "คนจริง",
        ]),
        urgent: Phrases::new(&[
            "срочно",
            "срочный",
            "срочная",
            "немедленно",
            "как можно скорее",
            "сегодня же",
            "горит",
            "быстрее",
            "незамедлительно",
            "экстренно",
            "urgent",
            "urgently",
            "asap",
            "immediately",
            "emergency",
            "right now",
            "right away",
            "as soon as possible",
            "critical",
            "ด่วน",
            "ด่วนมาก",
            "เร่งด่วน",
            "รีบ",
            "ทันที",
            "โดยเร็ว",
        ]),
        negative: Phrases::new(&[
            "ужас",
            "ужасно",
            "ужасный",
            "безобразие",
            "отвратительно",
            "отвратительный",
            "кошмар",
            "обман",
            "обманули",
            "мошенники",
            "жалоба",
            "пожалуюсь",
            "суд",
            "прокуратура",
            "сколько можно",
            "разочарован",
            "недоволен",
            "недовольна",
            "хамство",
            "позор",
            "бесит",
            "издевательство",
            "плохо",
            "плохой",
            "никто не отвечает",
            "верните деньги",
            "возмущен",
            "terrible",
            "awful",
            "worst",
            "disgusting",
            "unacceptable",
            "ridiculous",
            "scam",
            "fraud",
            "angry",
            "furious",
            "complaint",
            "lawyer",
            "sue",
            "never again",
            "disappointed",
            "useless",
            "horrible",
            "pathetic",
            "rude",
            "still waiting",
            "no one answers",
            "แย่",
            "แย่มาก",
            "ห่วย",
            "โกง",
            "ผิดหวัง",
            "โมโห",
            "ไม่พอใจ",
            "ร้องเรียน",
            "เสียความรู้สึก",
            "เซ็ง",
            "หงุดหงิด",
            "ไม่โอเค",
            "รอนานมาก",
        ]),
        positive: Phrases::new(&[
            "спасибо",
            "благодарю",
            "отлично",
            "супер",
            "здорово",
            "прекрасно",
            "очень доволен",
            "thanks",
            "thank you",
            "great",
            "awesome",
            "excellent",
            "perfect",
            "love",
            "happy",
            "ขอบคุณ",
            "ดีมาก",
            "ชอบ",
            "ประทับใจ",
            "สุดยอด",
        ]),
    })
}

/// How a message reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Signals {
    /// The customer asks for a person.
    pub asks_for_human: bool,
    pub urgent: bool,
    /// How sure `urgent` is (0.5–1).
    pub urgency_confidence: f32,
    /// `negative`, `neutral` or `positive`.
    pub sentiment: &'static str,
    /// How sure `sentiment` is (0.5–1).
    pub sentiment_confidence: f32,
}

/// Letters in capitals among the Latin and Cyrillic ones, when there are
/// enough of them to shout with.
fn shouting(text: &str) -> bool {
    let (mut upper, mut letters) = (0, 0);
    for c in text
        .chars()
        .filter(|c| c.is_alphabetic() && !('\u{0E00}'..='\u{0E7F}').contains(c))
    {
        letters += 1;
        upper += usize::from(c.is_uppercase());
    }
    letters >= 12 && upper * 10 >= letters * 7
}

pub fn read(text: &str) -> Signals {
    let text = match text.char_indices().nth(crate::features::MAX_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    };
    let terms: Vec<String> = query_terms(text);
    let l = lists();
    let exclaim = text.contains("!!") || text.contains("?!");
    let shout = shouting(text);
    let urgent_hits = l.urgent.count(&terms);
    let negative = l.negative.count(&terms) as f32
        + if shout { 1.0 } else { 0.0 }
        + if exclaim { 0.5 } else { 0.0 };
    let positive = l.positive.count(&terms) as f32;
    let score = negative - positive;
    let (sentiment, sentiment_confidence) = if negative > 0.0 && score >= 0.5 {
        ("negative", (0.6 + 0.1 * score).min(0.95))
    } else if positive > 0.0 && score < 0.0 {
        ("positive", (0.6 + 0.1 * -score).min(0.95))
    } else {
        ("neutral", 0.6)
    };
    let urgent = urgent_hits > 0;
    Signals {
        asks_for_human: l.human.count(&terms) > 0,
        urgent,
        urgency_confidence: if urgent {
            (0.7 + 0.1 * urgent_hits as f32).min(0.95)
        } else {
            0.6
        },
        sentiment,
        sentiment_confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_for_a_person_in_three_languages() {
        for text in [
            "оператор",
            "Позовите человека, пожалуйста",
            "соедините с живым человеком",
            "хочу поговорить с оператором!",
            "talk to a human",
            "Can I speak to a real person?",
            "I want a live agent",
            "ขอคุยกับพนักงาน",
            "ขอคุยกับเจ้าหน้าที่ได้ไหมคะ",
        ] {
            assert!(read(text).asks_for_human, "{text}");
        }
        for text in [
            "где мой заказ",
            "where is my parcel",
            "ยังไม่ได้รับสินค้า",
            "человек-паук в наличии?",
        ] {
            assert!(!read(text).asks_for_human, "{text}");
        }
    }

    #[test]
    fn urgency_and_anger_are_flagged() {
        let s = read("СРОЧНО верните деньги, это обман!!!");
        assert!(s.urgent);
        assert_eq!(s.sentiment, "negative");
        let s = read("This is unacceptable, I need it fixed ASAP");
        assert!(s.urgent && s.sentiment == "negative");
        let s = read("ด่วนมาก สินค้าห่วยมาก ไม่พอใจ");
        assert!(s.urgent && s.sentiment == "negative");
        let s = read("Спасибо, всё отлично");
        assert_eq!((s.urgent, s.sentiment), (false, "positive"));
        assert_eq!(read("где мой заказ 5531").sentiment, "neutral");
        // Words of a phrase apart are not the phrase.
        assert_eq!(
            read("Сколько баллов лояльности можно списать?").sentiment,
            "neutral"
        );
        assert_eq!(read("Сколько можно ждать?").sentiment, "negative");
    }
}
