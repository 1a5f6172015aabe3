//! Language analysis: how Russian, Thai and English text becomes index terms.
//!
//! One pipeline for every field and every language, so that a query finds text
//! whatever language either is written in:
//! 1. words by Unicode word boundaries, with Thai (which has no spaces) broken by
//!    ICU's dictionary segmenter;
//! 2. lower case, `ё` as `е`, Latin diacritics folded (`café` = `cafe`);
//! 3. Russian words (Cyrillic) and English words (Latin) reduced to their stems
//!    (`заказы`, `заказа`, `заказ` → `заказ`); Thai words are left whole.

use icu_segmenter::WordSegmenter;
use icu_segmenter::options::WordBreakInvariantOptions;
use rust_stemmers::{Algorithm, Stemmer};
use std::sync::Arc;
use tantivy::tokenizer::{
    AsciiFoldingFilter, TextAnalyzer, Token, TokenStream, Tokenizer as TantivyTokenizer,
};

/// The name the analyzer is registered under in the index.
pub const ANALYZER: &str = "otklik";

/// Words longer than this are not indexed (a base64 blob, a URL run together).
const MAX_WORD_BYTES: usize = 64;

/// The script a word is written in, as far as analysis cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    Cyrillic,
    Latin,
    Thai,
    Other,
}

pub fn script_of(word: &str) -> Script {
    for c in word.chars() {
        match c {
            '\u{0400}'..='\u{04FF}' => return Script::Cyrillic,
            '\u{0E00}'..='\u{0E7F}' => return Script::Thai,
            c if c.is_ascii_alphabetic() => return Script::Latin,
            '\u{00C0}'..='\u{024F}' => return Script::Latin,
            _ => {}
        }
    }
    Script::Other
}

struct Stemmers {
    russian: Stemmer,
    english: Stemmer,
}

/// The word splitter and stemmers, shared by every analyzer of the process.
#[derive(Clone)]
pub struct Words {
    stemmers: Arc<Stemmers>,
}

impl Default for Words {
    fn default() -> Self {
        Words {
            stemmers: Arc::new(Stemmers {
                russian: Stemmer::create(Algorithm::Russian),
                english: Stemmer::create(Algorithm::English),
            }),
        }
    }
}

impl Words {
    /// The normalised, stemmed words of `text` with their byte offsets and
    /// positions (before Latin folding, which the analyzer adds).
    pub fn split(&self, text: &str) -> Vec<Token> {
        let segmenter = WordSegmenter::new_dictionary(WordBreakInvariantOptions::default());
        let mut out = Vec::new();
        let mut prev = 0;
        for (i, kind) in segmenter.segment_str(text).iter_with_word_type() {
            let word = &text[prev..i];
            let from = prev;
            prev = i;
            if i == 0 || !kind.is_word_like() || word.len() > MAX_WORD_BYTES {
                continue;
            }
            let term = self.term(word);
            if term.is_empty() {
                continue;
            }
            out.push(Token {
                offset_from: from,
                offset_to: i,
                position: out.len(),
                text: term,
                position_length: 1,
            });
        }
        out
    }

    /// One word as it is indexed.
    pub fn term(&self, word: &str) -> String {
        let lower: String = word
            .chars()
            .flat_map(char::to_lowercase)
            .map(|c| if c == 'ё' { 'е' } else { c })
            .collect();
        match script_of(&lower) {
            Script::Cyrillic => self.stemmers.russian.stem(&lower).into_owned(),
            Script::Latin => self.stemmers.english.stem(&lower).into_owned(),
            Script::Thai | Script::Other => lower,
        }
    }
}

/// [`Words`] as a tantivy tokenizer.
#[derive(Clone, Default)]
pub struct WordTokenizer {
    words: Words,
}

pub struct WordStream {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(t) => {
                self.current = t;
                true
            }
            None => false,
        }
    }
    fn token(&self) -> &Token {
        &self.current
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

impl TantivyTokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        WordStream {
            tokens: self.words.split(text).into_iter(),
            current: Token::default(),
        }
    }
}

/// The analyzer every text field uses.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(AsciiFoldingFilter)
        .build()
}

/// The name the Thai character-pair analyzer is registered under.
pub const GRAMS: &str = "otklik_grams";

/// Thai marks that people often get wrong or leave out when typing: the four
/// tone marks, mai taikhu and thanthakhat (`โค๊ด` for `โค้ด`).
fn is_thai_mark_folded(c: char) -> bool {
    matches!(c, '\u{0E47}'..='\u{0E4C}')
}

/// Pairs of adjacent Thai characters, tone and silence marks left out.
/// A misspelt Thai word (a wrong tone mark, a variant spelling of a loanword)
/// is not in the segmenter's dictionary and breaks the words around it apart;
/// its character pairs still mostly meet those of the right spelling.
pub fn thai_grams(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<String>| {
        for w in run.windows(2) {
            out.push(w.iter().collect());
        }
        run.clear();
    };
    for c in text.chars() {
        if is_thai_mark_folded(c) {
            continue;
        }
        if ('\u{0E01}'..='\u{0E4E}').contains(&c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// [`thai_grams`] as a tantivy tokenizer (positions are not kept).
#[derive(Clone, Default)]
pub struct GramTokenizer;

impl TantivyTokenizer for GramTokenizer {
    type TokenStream<'a> = WordStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        let tokens: Vec<Token> = thai_grams(text)
            .into_iter()
            .enumerate()
            .map(|(i, g)| Token {
                offset_from: 0,
                offset_to: 0,
                position: i,
                text: g,
                position_length: 1,
            })
            .collect();
        WordStream {
            tokens: tokens.into_iter(),
            current: Token::default(),
        }
    }
}

/// Words that carry little meaning in a search (`how`, `my`, `как`, `мой`,
/// `ครับ`), as index terms. They still match, at a fraction of a word's weight,
/// so that a query of nothing else finds something.
pub fn is_stopword(term: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        const WORDS: &str = "a an the and or but if of to in on at by for from with about as into \
            is are was were be been am do does did done have has had can could will would should \
            may might must i me my mine you your we our us they their it its this that these those \
            what which who whom how why when where there here not no yes please hi hello thanks \
            thank get got just so too very all any some
            и в во не на я мы вы он она оно они что как так а но да или ли же бы то это этот эта эти \
            мой моя мое мои мне меня у к ко с со о об от до по за из при для без над под ну \
            здравствуйте привет пожалуйста спасибо можно нужно надо почему где когда какой какая \
            есть был была было были будет очень уже еще ещё там тут вот если чтобы
            ครับ ค่ะ คะ คับ จ้า นะ นะคะ นะครับ หน่อย ด้วย ที่ ของ และ หรือ ก็ จะ ได้ ให้ ไหม มั้ย \
            อะไร ยังไง อย่างไร บ้าง คือ เป็น มี ใน กับ แล้ว ยัง ไม่ ทำไม เมื่อไร เมื่อไหร่ ตอนนี้ ผม ฉัน \
            เรา คุณ หนู เค้า เขา อยาก ต้อง การ ช่วย";
        WORDS
            .split_whitespace()
            .flat_map(query_terms)
            .collect()
    })
    .contains(term)
}

/// The terms a query's text becomes: the same pipeline as the index.
pub fn query_terms(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_forms_meet_at_one_stem() {
        let t = |s: &str| query_terms(s);
        assert_eq!(t("заказы"), t("заказ"));
        assert_eq!(t("Заказа"), t("заказ"));
        assert_eq!(t("пришёл"), t("пришел"));
        assert_eq!(t("курьера"), t("курьер"));
        assert_eq!(t("Мой заказ №5531"), ["мо", "заказ", "5531"]);
    }

    #[test]
    fn english_forms_and_accents_fold() {
        assert_eq!(query_terms("Refunds"), query_terms("refund"));
        assert_eq!(query_terms("ordered"), query_terms("orders"));
        assert_eq!(query_terms("Café"), query_terms("cafe"));
    }

    #[test]
    fn thai_is_broken_into_words() {
        // "I have not received the product yet"
        let words = query_terms("ฉันยังไม่ได้รับสินค้า");
        assert!(words.len() >= 4, "{words:?}");
        assert!(words.contains(&"สินค้า".to_owned()), "{words:?}");
        // "product" alone finds the word inside an unspaced sentence.
        assert_eq!(query_terms("สินค้า"), ["สินค้า"]);
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let text = "Где мой ЗАКАЗ?";
        let tokens = Words::default().split(text);
        let last = tokens.last().map(|t| &text[t.offset_from..t.offset_to]);
        assert_eq!(last, Some("ЗАКАЗ"));
        assert_eq!(
            tokens.iter().map(|t| t.position).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }
}
