//! The demo knowledge base: 66 articles in Russian, English and Thai, FAQ
//! entries and the sections they are filed in, embedded from `demo/kb/`. The
//! search benchmark measures against the same content.
//!
//! An article file is `demo/kb/{category}/{slug}.{lang}.md`: a `# Title` line,
//! optionally `visibility: internal`, a blank line, the Markdown body. The FAQ of
//! a category is `demo/kb/faq-{category}.json`.

use anyhow::{Context, bail};
use domain::ids::{ArticleId, GroupId};
use domain::kb::{ArticleStatus, Visibility};
use engine::kb::{NewArticle, NewFaq};
use engine::{Engine, Principal};
use std::collections::{BTreeMap, HashMap};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}
pub use embedded::SEARCH_QUERIES;

/// One article in one language.
#[derive(Clone, Debug)]
pub struct DemoArticle {
    pub category: String,
    pub slug: String,
    pub lang: String,
    pub title: String,
    pub internal: bool,
    pub body: String,
}

/// One FAQ entry in one language.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct DemoFaq {
    pub group: String,
    pub lang: String,
    pub question: String,
    #[serde(default)]
    pub alternatives: Vec<String>,
    pub answer: String,
    pub article: Option<String>,
    #[serde(skip)]
    pub category: String,
}

/// Sections of the help center: top-level categories and the sections filed
/// under them, with their names in the three languages.
pub const SECTIONS: &[(&str, Option<&str>, [&str; 3])] = &[
    (
        "orders",
        None,
        [
            "Orders and delivery",
            "Заказы и доставка",
            "คำสั่งซื้อและการจัดส่ง",
        ],
    ),
    (
        "delivery",
        Some("orders"),
        ["Delivery", "Доставка", "การจัดส่ง"],
    ),
    (
        "payment",
        Some("orders"),
        ["Payment", "Оплата", "การชำระเงิน"],
    ),
    (
        "returns",
        Some("orders"),
        [
            "Returns and refunds",
            "Возврат и обмен",
            "การคืนสินค้าและคืนเงิน",
        ],
    ),
    (
        "help",
        None,
        ["Products and account", "Товары и аккаунт", "สินค้าและบัญชี"],
    ),
    (
        "product",
        Some("help"),
        ["Products", "О товарах", "ข้อมูลสินค้า"],
    ),
    (
        "technical",
        Some("help"),
        ["Technical help", "Техническая помощь", "ช่วยเหลือด้านเทคนิค"],
    ),
    (
        "account",
        Some("help"),
        ["Account", "Личный кабинет", "บัญชีผู้ใช้"],
    ),
];

/// Every demo article, in a stable order.
pub fn articles() -> anyhow::Result<Vec<DemoArticle>> {
    let mut out = Vec::new();
    for (path, text) in embedded::DEMO_KB {
        let Some(rest) = path.strip_suffix(".md") else {
            continue;
        };
        let (Some((category, file)), true) = (rest.split_once('/'), !rest.contains("//")) else {
            bail!("{path}: expected {{category}}/{{slug}}.{{lang}}.md");
        };
        let Some((slug, lang)) = file.rsplit_once('.') else {
            bail!("{path}: expected {{slug}}.{{lang}}.md");
        };
        let mut lines = text.lines();
        let title = lines
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .with_context(|| format!("{path}: the first line is not `# Title`"))?;
        let mut rest: Vec<&str> = lines.collect();
        let internal = rest.first() == Some(&"visibility: internal");
        if internal {
            rest.remove(0);
        }
        out.push(DemoArticle {
            category: category.into(),
            slug: slug.into(),
            lang: lang.into(),
            title: title.trim().into(),
            internal,
            body: rest.join("\n").trim().to_owned(),
        });
    }
    Ok(out)
}

/// Every demo FAQ entry.
pub fn faqs() -> anyhow::Result<Vec<DemoFaq>> {
    let mut out = Vec::new();
    for (path, text) in embedded::DEMO_KB {
        let Some(category) = path
            .strip_prefix("faq-")
            .and_then(|p| p.strip_suffix(".json"))
        else {
            continue;
        };
        let mut entries: Vec<DemoFaq> =
            serde_json::from_str(text).with_context(|| format!("reading {path}"))?;
        for e in &mut entries {
            e.category = category.into();
        }
        out.extend(entries);
    }
    Ok(out)
}

/// Files the sections and writes every article and FAQ entry as `p`, English
/// first so the others join its translation group. Returns each article's
/// `category/slug`.
pub async fn seed(engine: &Engine, p: &Principal) -> anyhow::Result<HashMap<ArticleId, String>> {
    for (key, parent, names) in SECTIONS {
        let names: BTreeMap<String, String> = ["en", "ru", "th"]
            .iter()
            .zip(names)
            .map(|(l, n)| ((*l).to_owned(), (*n).to_owned()))
            .collect();
        engine
            .save_kb_category(p, key, names, parent.map(str::to_owned))
            .await
            .with_context(|| format!("filing section {key}"))?;
    }
    let mut all = articles()?;
    let order = |l: &str| ["en", "ru", "th"].iter().position(|x| *x == l).unwrap_or(3);
    all.sort_by(|a, b| {
        (&a.category, &a.slug, order(&a.lang)).cmp(&(&b.category, &b.slug, order(&b.lang)))
    });
    let mut groups: HashMap<(String, String), GroupId> = HashMap::new();
    let mut ids = HashMap::new();
    let mut names = HashMap::new();
    for a in &all {
        let key = (a.category.clone(), a.slug.clone());
        let made = engine
            .create_article(
                p,
                NewArticle {
                    lang: a.lang.clone(),
                    title: a.title.clone(),
                    body: a.body.clone(),
                    category: Some(a.category.clone()),
                    status: ArticleStatus::Published,
                    visibility: if a.internal {
                        Visibility::Internal
                    } else {
                        Visibility::Public
                    },
                    group_id: groups.get(&key).copied(),
                },
            )
            .await
            .with_context(|| format!("writing {}/{}.{}", a.category, a.slug, a.lang))?;
        groups.entry(key).or_insert(made.group_id);
        ids.insert((a.slug.clone(), a.lang.clone()), made.id);
        names.insert(made.id, format!("{}/{}", a.category, a.slug));
    }
    let mut faq_groups: HashMap<(String, String), GroupId> = HashMap::new();
    let mut faqs = faqs()?;
    faqs.sort_by(|a, b| (&a.group, order(&a.lang)).cmp(&(&b.group, order(&b.lang))));
    for f in faqs {
        let made = engine
            .create_faq(
                p,
                NewFaq {
                    lang: f.lang.clone(),
                    question: f.question.clone(),
                    phrasings: f.alternatives.clone(),
                    answer: f.answer.clone(),
                    category: Some(f.category.clone()),
                    article_id: f
                        .article
                        .as_ref()
                        .and_then(|s| ids.get(&(s.clone(), f.lang.clone())).copied()),
                    group_id: faq_groups
                        .get(&(f.category.clone(), f.group.clone()))
                        .copied(),
                },
            )
            .await
            .with_context(|| format!("writing FAQ {} ({})", f.group, f.lang))?;
        faq_groups
            .entry((f.category, f.group))
            .or_insert(made.group_id);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_demo_knowledge_base_is_complete_in_three_languages() -> anyhow::Result<()> {
        let all = articles()?;
        let mut by_slug: HashMap<(String, String), HashSet<String>> = HashMap::new();
        for a in &all {
            assert!(
                !a.title.is_empty() && a.body.len() > 200,
                "{}/{}.{}",
                a.category,
                a.slug,
                a.lang
            );
            assert!(SECTIONS.iter().any(|s| s.0 == a.category), "{}", a.category);
            by_slug
                .entry((a.category.clone(), a.slug.clone()))
                .or_default()
                .insert(a.lang.clone());
        }
        assert!(by_slug.len() >= 60, "{} article groups", by_slug.len());
        for (k, langs) in &by_slug {
            assert_eq!(langs.len(), 3, "{k:?} has {langs:?}");
        }
        let faqs = faqs()?;
        assert!(faqs.len() >= 60, "{} FAQ entries", faqs.len());
        for f in &faqs {
            if let Some(slug) = &f.article {
                assert!(
                    by_slug.contains_key(&(f.category.clone(), slug.clone())),
                    "{slug}"
                );
            }
        }
        Ok(())
    }
}
