//! `serve --demo`: a workspace `demo` with teams, agents, customers on several
//! channels and a few hundred tickets in Russian, English and Thai, spread over
//! the last two months. Built through the same engine calls as real traffic, with
//! the clock set back for each step, so history, events and numbers are coherent.

use crate::app::SettableClock;
use crate::demo_corpus::{
    AGENT_NAMES, CONVERSATIONS, CUSTOMER_NAMES_EN, CUSTOMER_NAMES_RU, CUSTOMER_NAMES_TH,
    Conversation, Who,
};
use anyhow::Context;
use domain::Timestamp;
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;
use domain::ticket::{Channel, Priority, Status, Visibility};
use domain::user::Role;
use engine::customers::CustomerInput;
use engine::people::NewUser;
use engine::tickets::{Body, CustomerRef, NewMessage, NewTicket, TicketPatch, TicketRef};
use engine::{Engine, EngineError, Principal, Via};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

pub const WORKSPACE: &str = "demo";
pub const OWNER: &str = "admin@demo.test";
pub const PASSWORD: &str = "demo-password";
const CUSTOMERS: usize = 50;
const TICKETS: usize = 300;
const DAY: i64 = 24 * 3600 * 1000;

/// What the seed made, for the start-up banner.
pub struct Seeded {
    pub agents: Vec<(String, String, Role)>,
    pub token: Option<String>,
    pub tickets: usize,
    pub articles: usize,
    /// The demo chat widget's key.
    pub widget_key: String,
}

struct Agent {
    principal: Principal,
    lang: &'static str,
    tier: i64,
    first_name: String,
    /// What a note mentions them by (`@` and the local part of the address).
    handle: String,
}

struct Cust {
    id: CustomerId,
    lang: &'static str,
    first_name: String,
    channels: Vec<Channel>,
}

fn fill(text: &str, name: &str, order: u32, agent: &str) -> String {
    text.replace("{name}", name)
        .replace("{order}", &order.to_string())
        .replace("{agent}", agent)
}

/// Seeds the demo workspace unless it exists. `clock` is set back in time while
/// history is written and restored afterwards.
pub async fn seed(
    engine: &Engine,
    clock: &SettableClock,
    progress: &dyn Fn(usize, usize),
) -> anyhow::Result<Option<Seeded>> {
    match engine.workspace_by_name(WORKSPACE).await {
        Ok(_) => return Ok(None),
        Err(EngineError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let result = seed_inner(engine, clock, progress).await;
    clock.set(None);
    result.map(Some)
}

async fn seed_inner(
    engine: &Engine,
    clock: &SettableClock,
    progress: &dyn Fn(usize, usize),
) -> anyhow::Result<Seeded> {
    let mut rng = StdRng::seed_from_u64(1042);
    let now = engine.now();
    let start = Timestamp::from_millis(now.millis() - 60 * DAY);
    clock.set(Some(start));
    let (_, owner_user) = engine
        .create_workspace(WORKSPACE, OWNER, PASSWORD)
        .await
        .context("creating the demo workspace")?;
    let owner = engine.cli_principal(WORKSPACE).await?;
    engine
        .update_workspace(
            &owner,
            engine::workspaces::SettingsPatch {
                display_name: Some("Demo Shop".into()),
                default_language: Some("en".into()),
                time_zone: Some("Europe/Moscow".into()),
            },
        )
        .await?;
    let articles = crate::demo_kb::seed(engine, &owner)
        .await
        .context("writing the demo knowledge base")?
        .len();
    // The defaults every new workspace gets: teams L1–L3, SLA policies, rules.
    engine.apply_defaults(&owner).await?;
    seed_macros(engine, &owner).await?;
    let mut teams = engine.teams(&owner, None, Some(10)).await?;
    teams.sort_by_key(|t| t.tier);
    let mut banner = vec![(OWNER.to_string(), "Admin".to_string(), Role::Owner)];
    let mut agents = Vec::new();
    for (i, (name, lang)) in AGENT_NAMES.iter().enumerate() {
        let tier = (i % 3) as i64 + 1;
        let email = format!("agent{}@demo.test", i + 1);
        let handle = format!("@agent{}", i + 1);
        let u = engine
            .add_user(
                &owner,
                NewUser {
                    email: email.clone(),
                    name: Some((*name).into()),
                    role: Some(Role::Agent),
                    password: Some(PASSWORD.into()),
                    tier: Some(tier),
                    languages: if *lang == "en" {
                        vec!["en".into()]
                    } else {
                        vec![(*lang).into(), "en".into()]
                    },
                    skills: Vec::new(),
                    team_ids: vec![teams[(tier - 1) as usize].id],
                    capacity: Some(12),
                    channel_capacity: [("chat".to_string(), 4), ("email".to_string(), 10)]
                        .into_iter()
                        .collect(),
                },
            )
            .await?;
        banner.push((email, (*name).to_string(), Role::Agent));
        agents.push(Agent {
            principal: Principal {
                workspace_id: owner.workspace_id,
                user_id: u.user.id,
                role: Role::Agent,
                via: Via::Cli,
            },
            lang,
            tier,
            first_name: name.split_whitespace().next().unwrap_or(name).to_string(),
            handle,
        });
    }
    let mut supervisor = None;
    for (email, name, role) in [
        ("supervisor@demo.test", "Maria Supervisor", Role::Supervisor),
        ("light@demo.test", "Lee Light", Role::LightAgent),
    ] {
        let u = engine
            .add_user(
                &owner,
                NewUser {
                    email: email.into(),
                    name: Some(name.into()),
                    role: Some(role),
                    password: Some(PASSWORD.into()),
                    ..Default::default()
                },
            )
            .await?;
        if role == Role::Supervisor {
            supervisor = Some(Principal {
                workspace_id: owner.workspace_id,
                user_id: u.user.id,
                role,
                via: Via::Cli,
            });
        }
        banner.push((email.into(), name.into(), role));
    }

    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let (lang, names, domain_name, phone_prefix): (&'static str, &[&str], &str, &str) =
            match i % 10 {
                0..=3 => ("ru", CUSTOMER_NAMES_RU, "example.ru", "+7915"),
                4..=6 => ("en", CUSTOMER_NAMES_EN, "example.com", "+4477"),
                _ => ("th", CUSTOMER_NAMES_TH, "example.co.th", "+6681"),
            };
        let name = names[(i / 3) % names.len()];
        let mut ids = vec![Identity::parse(
            IdentityKind::Email,
            &format!("customer{}@{domain_name}", i + 1),
        )?];
        let mut channels = vec![Channel::Email, Channel::WebForm, Channel::Chat];
        if rng.gen_bool(0.6) {
            ids.push(Identity::parse(
                IdentityKind::Phone,
                &format!("{phone_prefix}{:07}", rng.gen_range(1_000_000..9_999_999)),
            )?);
            channels.push(Channel::Phone);
        }
        match lang {
            "ru" if rng.gen_bool(0.6) => {
                ids.push(Identity::parse(
                    IdentityKind::Telegram,
                    &format!("@client_{}", i + 1),
                )?);
                channels.push(Channel::Telegram);
                if rng.gen_bool(0.4) {
                    ids.push(Identity::parse(
                        IdentityKind::Vk,
                        &format!("{}", 100_000 + i * 37),
                    )?);
                    channels.push(Channel::Vk);
                }
            }
            "th" if rng.gen_bool(0.7) => {
                ids.push(Identity::parse(
                    IdentityKind::Whatsapp,
                    &format!("+668{:08}", rng.gen_range(10_000_000..99_999_999)),
                )?);
                channels.push(Channel::Whatsapp);
            }
            _ => {}
        }
        clock.set(Some(start.plus_millis(i as i64 * 60_000)));
        let c = engine
            .create_customer(
                &owner,
                CustomerInput {
                    name: Some(name.into()),
                    language: Some(lang.into()),
                    identities: ids,
                    ..CustomerInput::default()
                },
            )
            .await?;
        customers.push(Cust {
            id: c.id,
            lang,
            first_name: name.split_whitespace().next().unwrap_or(name).into(),
            channels,
        });
    }

    let mut by_lang: std::collections::HashMap<&str, Vec<&Conversation>> =
        std::collections::HashMap::new();
    for c in CONVERSATIONS {
        by_lang.entry(c.lang).or_default().push(c);
    }
    // Orders draw from their own generator so the tickets stay as they were.
    let mut order_rng = StdRng::seed_from_u64(5531);
    let mut created_at: Vec<i64> = (0..TICKETS)
        .map(|_| rng.gen_range(start.millis() + DAY..now.millis() - 3_600_000))
        .collect();
    created_at.sort_unstable();
    for (n, t0) in created_at.into_iter().enumerate() {
        progress(n, TICKETS);
        let cust = &customers[rng.gen_range(0..customers.len())];
        let Some(conv) = by_lang.get(cust.lang).and_then(|v| v.choose(&mut rng)) else {
            continue;
        };
        let order = rng.gen_range(100_000..200_000);
        let lang_agents: Vec<&Agent> = agents.iter().filter(|a| a.lang == cust.lang).collect();
        let agent = lang_agents.choose(&mut rng).copied().unwrap_or(&agents[0]);
        let age_days = (now.millis() - t0) / DAY;
        let answered = conv.turns.iter().any(|(w, _)| *w == Who::Agent);
        let channel = *cust.channels.choose(&mut rng).unwrap_or(&Channel::Email);
        let mut t = Timestamp::from_millis(t0);
        clock.set(Some(t));
        // The order the customer writes about, pushed by the store before.
        seed_order(engine, &owner, cust, order, t, &mut order_rng).await?;
        let first = fill(conv.turns[0].1, &cust.first_name, order, &agent.first_name);
        let created = engine
            .create_ticket(
                &owner,
                NewTicket {
                    subject: fill(conv.subject, &cust.first_name, order, &agent.first_name),
                    channel,
                    priority: Some(Priority::parse(conv.priority)?),
                    customer: CustomerRef::Id(cust.id),
                    body: Body {
                        text: first,
                        ..Body::default()
                    },
                    external_id: None,
                    tags: vec![conv.category.to_string()],
                    category: Some(conv.category.to_string()),
                    assignee_id: answered.then_some(agent.principal.user_id),
                    team_id: answered.then(|| teams[(agent.tier - 1) as usize].id),
                    tier: Some(agent.tier),
                    custom_fields: Default::default(),
                    from_agent: false,
                    status: None,
                    cc: Vec::new(),
                    account_id: None,
                },
                None,
            )
            .await?;
        let tref = TicketRef::Id(created.ticket.id);
        for (who, text) in &conv.turns[1..] {
            t = t.plus_millis(rng.gen_range(4 * 60_000..6 * 3_600_000));
            if t.millis() > now.millis() {
                break;
            }
            clock.set(Some(t));
            let body = Body {
                text: fill(text, &cust.first_name, order, &agent.first_name),
                ..Body::default()
            };
            let (p, visibility, as_customer) = match who {
                Who::Customer => (&owner, Visibility::Public, true),
                Who::Agent => (&agent.principal, Visibility::Public, false),
                Who::Note => (&agent.principal, Visibility::Internal, false),
            };
            engine
                .add_message(
                    p,
                    tref,
                    NewMessage {
                        body,
                        visibility,
                        as_customer,
                        status: None,
                        external_id: None,
                        imported: true,
                        template: None,
                    },
                    None,
                )
                .await?;
        }
        // Older conversations that were answered are mostly finished.
        let last_is_agent = conv
            .turns
            .iter()
            .rev()
            .find(|(w, _)| *w != Who::Note)
            .is_some_and(|(w, _)| *w == Who::Agent);
        // Old conversations are finished; the last ten days hold the open work, split
        // between waiting on the customer, on the team and on a third party.
        let target = match (answered, age_days, last_is_agent) {
            (false, _, _) => None,
            (true, d, _) if d > 21 => Some(if rng.gen_bool(0.8) {
                Status::Closed
            } else {
                Status::Solved
            }),
            (true, d, _) if d > 10 => Some(if rng.gen_bool(0.85) {
                Status::Solved
            } else {
                Status::Pending
            }),
            // The team spoke last: waiting on the customer, or done.
            (true, _, true) => Some(if n % 3 == 2 {
                Status::Solved
            } else {
                Status::Pending
            }),
            // The customer spoke last: the team's turn, sometimes waiting on a carrier
            // or supplier (on hold), or the customer's thanks closed it.
            (true, _, false) => Some(match n % 4 {
                0 | 1 => Status::Open,
                2 => Status::OnHold,
                _ => Status::Solved,
            }),
        };
        if let Some(target) = target {
            // Recent tickets change status "just now" rather than in the future.
            t = Timestamp::from_millis(
                t.plus_millis(rng.gen_range(600_000..DAY))
                    .millis()
                    .min(now.millis() - 1000)
                    .max(t.millis()),
            );
            {
                clock.set(Some(t));
                let steps: &[Status] = if target == Status::Closed {
                    &[Status::Solved, Status::Closed]
                } else {
                    std::slice::from_ref(&target)
                };
                for s in steps {
                    engine
                        .update_ticket(
                            &agent.principal,
                            tref,
                            TicketPatch {
                                status: Some(*s),
                                ..Default::default()
                            },
                        )
                        .await?;
                }
            }
        }
    }
    progress(TICKETS, TICKETS);
    clock.set(None);
    seed_workday(engine, &owner, &agents)
        .await
        .context("setting up the demo's snooze, mention and merge")?;
    let widget_key = seed_chat(engine, &owner, &agents[0].principal)
        .await
        .context("setting up the demo chat")?;
    seed_phone(engine, &owner)
        .await
        .context("setting up the demo phone line")?;
    seed_journey(engine, &owner, &customers, &mut rng)
        .await
        .context("setting up the demo's customer journey")?;
    // Supervisors get the weekly and monthly summaries (mailed once a mailbox
    // that sends is connected).
    engine
        .save_digest_settings(
            &owner,
            domain::digest::DigestSettings {
                weekly: true,
                monthly: true,
            },
        )
        .await?;
    if let Some(s) = &supervisor {
        seed_quality(engine, &owner, s)
            .await
            .context("setting up the demo's quality review")?;
    }
    let (_, token) = engine.create_token(&owner, owner_user.id, "demo").await?;
    Ok(Seeded {
        widget_key,
        articles,
        agents: banner,
        token: Some(token),
        tickets: TICKETS,
    })
}

/// Quality review: a scorecard, a sample of each agent's solved
/// conversations in the review queue, and the first of them reviewed, so the
/// queue, the agents' scores and the reports' quality column have something.
async fn seed_quality(engine: &Engine, owner: &Principal, lead: &Principal) -> anyhow::Result<()> {
    use domain::quality::{Criterion, ScorecardSpec};
    let criterion = |key: &str, label: &str, weight, scale| Criterion {
        key: key.into(),
        label: label.into(),
        weight,
        scale,
    };
    let card = engine
        .save_scorecard(
            owner,
            None,
            ScorecardSpec {
                name: "Conversation quality".into(),
                criteria: vec![
                    criterion("greeting", "Greets the customer by name", 1, 2),
                    criterion("understanding", "Understands the question", 2, 3),
                    criterion("solution", "Solves it or says what happens next", 3, 5),
                    criterion("tone", "Tone and language", 2, 5),
                ],
            },
            true,
        )
        .await?;
    let drawn = engine.draw_sample(lead, 3, None, None).await?;
    // The first drawn conversation of each agent, reviewed.
    let mut seen = std::collections::BTreeSet::new();
    for (i, (ticket, agent)) in drawn.into_iter().enumerate() {
        // Nobody reviews their own work.
        if agent == lead.user_id || !seen.insert(agent) {
            continue;
        }
        let scores = [
            ("greeting", 2),
            ("understanding", 2 + (i % 2) as i64),
            ("solution", 3 + (i % 3) as i64),
            ("tone", 4 + (i % 2) as i64),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        engine
            .review_ticket(
                lead,
                engine::tickets::TicketRef::Id(ticket),
                card.id,
                scores,
                "Clear and friendly; link the help-center article next time.",
            )
            .await?;
    }
    Ok(())
}

/// A day's work on one ticket: a colleague's note mentions its agent, it is
/// snoozed until tomorrow 9:00, and the customer's duplicate is merged in.
async fn seed_workday(engine: &Engine, owner: &Principal, agents: &[Agent]) -> anyhow::Result<()> {
    let (Some(anna), Some(other)) = (agents.first(), agents.get(1)) else {
        return Ok(());
    };
    let mut first = NewTicket::from_email(
        "Change the delivery address for order 5532",
        "daniel.walker@example.com",
        "Hi, I moved last week. Can you send order 5532 to 12 Baker Street instead?",
    )?;
    first.assignee_id = Some(anna.principal.user_id);
    first.channel = Channel::Email;
    let t = engine.create_ticket(owner, first, None).await?.ticket;
    let mut again = NewTicket::from_email(
        "Order 5532 address",
        "daniel.walker@example.com",
        "Sorry to write twice: the new address is 12 Baker Street, flat 3.",
    )?;
    again.channel = Channel::Email;
    let dup = engine.create_ticket(owner, again, None).await?.ticket;
    engine
        .merge_ticket(&anna.principal, TicketRef::Id(dup.id), TicketRef::Id(t.id))
        .await?;
    engine
        .add_message(
            &other.principal,
            TicketRef::Id(t.id),
            NewMessage {
                body: Body {
                    text: format!(
                        "{} the courier can still reroute it until tomorrow morning; I asked them.",
                        anna.handle
                    ),
                    ..Body::default()
                },
                visibility: Visibility::Internal,
                as_customer: false,
                status: None,
                external_id: None,
                imported: false,
                template: None,
            },
            None,
        )
        .await?;
    let tomorrow = domain::time::local::at_hour("Europe/Moscow", engine.now(), 1, 9)
        .context("tomorrow in Moscow")?;
    engine
        .update_ticket(
            &anna.principal,
            TicketRef::Id(t.id),
            TicketPatch {
                snoozed_until: Some(Some(tomorrow)),
                ..TicketPatch::default()
            },
        )
        .await?;
    // Each agent signs their email replies; Thai agents read Bangkok time.
    for a in agents {
        let (team, zone) = match a.lang {
            "ru" => ("служба поддержки", None),
            "th" => ("ฝ่ายบริการลูกค้า", Some("Asia/Bangkok".to_owned())),
            _ => ("Customer support", None),
        };
        engine
            .set_preferences(
                &a.principal,
                engine::people::PreferencesPatch {
                    signature: Some(format!("{} — {team}", a.first_name)),
                    time_zone: zone.map(Some),
                    ..Default::default()
                },
            )
            .await?;
    }
    seed_organisation(engine, owner).await
}

/// A company with its own field and domain: the customers writing from it
/// are gathered on its page.
async fn seed_organisation(engine: &Engine, owner: &Principal) -> anyhow::Result<()> {
    use domain::fields::{FieldTarget, FieldType};
    for (key, label, applies_to) in [
        ("contract", "Договор", FieldTarget::Organization),
        ("birthday", "День рождения", FieldTarget::Customer),
    ] {
        engine
            .create_field(
                owner,
                engine::people::NewField {
                    key: key.into(),
                    label: label.into(),
                    field_type: if key == "birthday" {
                        FieldType::Date
                    } else {
                        FieldType::Text
                    },
                    options: Vec::new(),
                    required: false,
                    applies_to,
                },
            )
            .await?;
    }
    for (email, subject, text) in [
        (
            "buh@romashka.example",
            "Счёт за декабрь",
            "Пришлите, пожалуйста, счёт на оплату за декабрь по договору Д-2026/114.",
        ),
        (
            "sklad@romashka.example",
            "Не хватает двух коробок",
            "В поставке 7731 пришло 18 коробок вместо 20. Что делать?",
        ),
    ] {
        let mut t = NewTicket::from_email(subject, email, text)?;
        t.channel = Channel::Email;
        let created = engine.create_ticket(owner, t, None).await?;
        // A second question on the same thread, split off into its own ticket.
        if email.starts_with("sklad") {
            let q = engine
                .add_message(
                    owner,
                    TicketRef::Id(created.ticket.id),
                    NewMessage {
                        body: Body {
                            text: "И ещё: пришлите, пожалуйста, акт сверки за ноябрь.".into(),
                            ..Body::default()
                        },
                        visibility: Visibility::Public,
                        as_customer: true,
                        status: None,
                        external_id: None,
                        imported: false,
                        template: None,
                    },
                    None,
                )
                .await?;
            engine
                .split_ticket(owner, TicketRef::Id(created.ticket.id), q.message.id)
                .await?;
            // The owner follows it; the second line is asked about the shortfall.
            engine
                .join_circle(
                    owner,
                    TicketRef::Id(created.ticket.id),
                    engine::swarm::Circle::Followers,
                    owner.user_id,
                )
                .await?;
            let teams = engine.teams(owner, None, Some(10)).await?;
            if let Some(l2) = teams.iter().find(|t| t.tier == 2) {
                engine
                    .start_side(
                        owner,
                        TicketRef::Id(created.ticket.id),
                        engine::side::NewSide {
                            subject: "Поставка 7731: где две коробки?".into(),
                            body: "Коллеги, проверьте, пожалуйста, по накладной: отгружали 18 или 20 коробок?".into(),
                            with: engine::side::SideWith::Team(l2.id),
                            account_id: None,
                        },
                    )
                    .await?;
            }
        }
    }
    let mut fields = serde_json::Map::new();
    fields.insert("contract".into(), "Д-2026/114".into());
    engine
        .create_organization(
            owner,
            engine::organizations::OrganizationInput {
                name: Some("ООО «Ромашка»".into()),
                notes: Some("Оптовый клиент: счета выставляем до 5-го числа.".into()),
                domains: Some(vec!["romashka.example".into()]),
                custom_fields: Some(fields),
            },
        )
        .await?;
    Ok(())
}

/// The order a demo conversation is about: placed two days before it, with
/// a parcel when it has shipped.
async fn seed_order(
    engine: &Engine,
    owner: &Principal,
    cust: &Cust,
    number: u32,
    at: Timestamp,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    use domain::order::{LineItem, OrderPush, OrderStatus, ShipmentPush, ShipmentStatus};
    let (currency, catalog): (&str, &[(&str, &str, &str)]) = match cust.lang {
        "ru" => (
            "RUB",
            &[
                ("SPK-1", "Умная колонка", "4990.00"),
                ("CBL-2", "Кабель USB-C, 2 м", "590.00"),
                ("KTL-5", "Чайник электрический", "3290.00"),
            ],
        ),
        "th" => (
            "THB",
            &[
                ("SPK-1", "ลำโพงอัจฉริยะ", "1990.00"),
                ("CBL-2", "สาย USB-C 2 ม.", "290.00"),
                ("FAN-3", "พัดลมตั้งโต๊ะ", "890.00"),
            ],
        ),
        _ => (
            "GBP",
            &[
                ("SPK-1", "Smart speaker", "49.00"),
                ("CBL-2", "USB-C cable, 2 m", "7.50"),
                ("KTL-5", "Electric kettle", "29.00"),
            ],
        ),
    };
    let (sku, name, price) = catalog[rng.gen_range(0..catalog.len())];
    let status = match rng.gen_range(0..100) {
        0..=39 => OrderStatus::Delivered,
        40..=74 => OrderStatus::Shipped,
        _ => OrderStatus::Paid,
    };
    let shipments = if matches!(status, OrderStatus::Paid) {
        Vec::new()
    } else {
        let tracking = format!("DM{number}{}", rng.gen_range(10..99));
        vec![ShipmentPush {
            carrier: "CDEK".into(),
            tracking_url: Some(format!("https://tracking.example/{tracking}")),
            tracking_number: tracking,
            status: if status == OrderStatus::Delivered {
                ShipmentStatus::Delivered
            } else {
                ShipmentStatus::InTransit
            },
            at: None,
            note: None,
        }]
    };
    engine
        .upsert_order(
            owner,
            engine::orders::OrderInput {
                external_id: number.to_string(),
                customer: Some(CustomerRef::Id(cust.id)),
                push: OrderPush {
                    number: Some(number.to_string()),
                    status: Some(status),
                    status_at: None,
                    currency: Some(currency.into()),
                    total: Some(price.into()),
                    placed_at: Some(Timestamp::from_millis(at.millis() - 2 * DAY)),
                    items: Some(vec![LineItem {
                        sku: sku.into(),
                        name: name.into(),
                        quantity: 1,
                        price: price.into(),
                    }]),
                    shipments,
                },
            },
        )
        .await?;
    Ok(())
}

/// The customer journey: tracking on, the shop's page views, carts,
/// checkouts and reviews for every customer over the last weeks
/// (the system's own touchpoints — messages, orders, surveys — came with the
/// tickets), and a campaign's tracked link, so that the journey map and each
/// customer's emotion line have something to show.
async fn seed_journey(
    engine: &Engine,
    owner: &Principal,
    customers: &[Cust],
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    use domain::journey::Kind;
    let mut s = engine.journey_settings(owner).await?;
    s.tracking = true;
    s.link_targets = vec!["https://shop.example/".into()];
    engine.save_journey_settings(owner, s).await?;
    let now = engine.now().millis();
    let mut items = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        let country = match c.lang {
            "ru" => "RU",
            "th" => "TH",
            _ => "GB",
        };
        let category = ["speakers", "kettles", "cables"][i % 3];
        let steps: &[(Kind, &str)] = match i % 4 {
            0 => &[
                (Kind::PageView, "Home"),
                (Kind::PageView, "Product"),
                (Kind::PageView, "Pricing"),
                (Kind::Cart, "Product"),
                (Kind::Checkout, "Product"),
            ],
            1 => &[
                (Kind::PageView, "Home"),
                (Kind::PageView, "Product"),
                (Kind::Cart, "Product"),
            ],
            2 => &[(Kind::PageView, "Home"), (Kind::PageView, "Blog")],
            _ => &[
                (Kind::PageView, "Home"),
                (Kind::PageView, "Product"),
                (Kind::Cart, "Product"),
                (Kind::Checkout, "Product"),
                (Kind::Review, "Product"),
            ],
        };
        let mut at = now - (30 + rng.gen_range(0..20)) * DAY;
        for (j, (kind, name)) in steps.iter().enumerate() {
            at += rng.gen_range(1..48) * DAY / 24;
            let mut attributes = std::collections::BTreeMap::new();
            if j == 0 {
                attributes.insert("category".to_owned(), category.to_owned());
                attributes.insert("country".to_owned(), country.to_owned());
            }
            // The default stage rules read product and pricing pages as
            // consideration.
            if *kind == Kind::PageView && matches!(*name, "Product" | "Pricing") {
                attributes.insert("page_type".to_owned(), name.to_lowercase());
            }
            items.push(engine::journey::Pushed {
                id: format!("demo-{i}-{j}"),
                customer: Some(CustomerRef::Id(c.id)),
                kind: *kind,
                at: Some(Timestamp::from_millis(at)),
                name: Some((*name).into()),
                url: Some(format!("https://shop.example/{}", name.to_lowercase())),
                attributes,
                rating: (*kind == Kind::Review).then(|| rng.gen_range(1..=5)),
            });
        }
    }
    while !items.is_empty() {
        let rest = items.split_off(items.len().min(500));
        engine.push_touchpoints(owner, items).await?;
        items = rest;
    }
    engine
        .create_link(
            owner,
            engine::tracking::NewLink {
                target: "https://shop.example/spring-sale".into(),
                campaign: Some("spring".into()),
                name: Some("Spring sale, newsletter".into()),
                customer_id: None,
            },
        )
        .await?;
    Ok(())
}

/// A phone channel with a delivery line (the first line's team), an answered
/// call and a missed one — as a telephony service would report them.
async fn seed_phone(engine: &Engine, owner: &Principal) -> anyhow::Result<()> {
    let team = engine
        .teams(owner, None, Some(10))
        .await?
        .into_iter()
        .find(|t| t.tier == 1)
        .map(|t| t.id);
    let (c, _) = engine
        .create_phone_channel(
            owner,
            engine::phone::PhoneInput {
                name: Some("Demo Shop phone".into()),
                lines: Some(vec![engine::phone::Line {
                    number: "+74951234567".into(),
                    name: "Доставка".into(),
                    team_id: team,
                }]),
                active: Some(true),
                rotate_secret: false,
            },
        )
        .await?;
    let account = engine::ingest::AccountRef {
        id: c.id,
        workspace_id: owner.workspace_id,
        kind: domain::ticket::Channel::Phone,
    };
    let call = |id: &str, event: engine::phone::CallState, from: &str, duration| {
        engine::phone::CallEvent {
            call_id: id.into(),
            event,
            from: from.into(),
            to: "+74951234567".into(),
            line: None,
            agent: None,
            duration_s: duration,
            recording_url: None,
        }
    };
    engine
        .phone_event(
            &account,
            call(
                "demo-1",
                engine::phone::CallState::Ended,
                "+79161112233",
                Some(134),
            ),
        )
        .await?;
    engine
        .phone_event(
            &account,
            call(
                "demo-2",
                engine::phone::CallState::Missed,
                "+79035556677",
                None,
            ),
        )
        .await?;
    seed_one_customer(engine, owner).await?;
    seed_outreach(engine, owner).await?;
    seed_triage(engine, owner).await
}

/// Triage categories as the demo's conversations are sorted, with examples in
/// three languages, then every customer message read by triage.
async fn seed_triage(engine: &Engine, owner: &Principal) -> anyhow::Result<()> {
    use domain::assist::CategorySpec;
    let categories: [(&str, &str, &str, &[&str]); 6] = [
        (
            "delivery",
            "Delivery",
            "Where an order is, delivery times, couriers, parcels that did not arrive",
            &[
                "where is my order",
                "my parcel has not arrived",
                "где мой заказ",
                "когда привезут посылку",
                "курьер не приехал",
                "ยังไม่ได้รับพัสดุ",
                "พัสดุจะมาถึงเมื่อไหร่",
            ],
        ),
        (
            "returns",
            "Returns",
            "Returning an item, exchanges, refunds",
            &[
                "I want to return an item",
                "how do I get a refund",
                "хочу вернуть товар",
                "не подошёл размер",
                "ขอคืนสินค้า",
            ],
        ),
        (
            "payment",
            "Payment",
            "Paying by card, invoices, double charges, failed payments",
            &[
                "payment failed",
                "I was charged twice",
                "не проходит оплата",
                "дважды списали деньги",
                "จ่ายเงินไม่ได้",
            ],
        ),
        (
            "technical",
            "Technical",
            "A device that does not work, set-up, errors, the app",
            &[
                "it does not turn on",
                "the app shows an error",
                "не включается",
                "приложение выдаёт ошибку",
                "เปิดไม่ติด",
            ],
        ),
        (
            "account",
            "Account",
            "Logging in, passwords, profile and personal data",
            &[
                "I cannot log in",
                "reset my password",
                "не могу войти в личный кабинет",
                "забыл пароль",
                "เข้าสู่ระบบไม่ได้",
            ],
        ),
        (
            "product",
            "Product",
            "Questions before buying: specifications, compatibility, availability",
            &[
                "is it compatible with",
                "do you have it in stock",
                "есть ли в наличии",
                "какие характеристики",
                "มีสินค้าไหม",
            ],
        ),
    ];
    for (key, name, description, examples) in categories {
        engine
            .save_triage_category(
                owner,
                None,
                CategorySpec {
                    key: key.into(),
                    name: name.into(),
                    description: description.into(),
                    examples: examples.iter().map(|e| (*e).to_owned()).collect(),
                    team_id: None,
                    priority: None,
                },
            )
            .await?;
    }
    engine.triage_backlog(owner, 10_000).await?;
    Ok(())
}

/// Outreach as a shop would set it: tracking when an order ships, a word
/// when a parcel is late, a question after delivery, an apology to a
/// customer at risk; suggestions after a solve switched on.
async fn seed_outreach(engine: &Engine, owner: &Principal) -> anyhow::Result<()> {
    use domain::outreach::{OutreachOn, OutreachSettings, OutreachSpec};
    let rules = [
        (
            "Shipped: tracking",
            OutreachOn::OrderStatus,
            vec!["shipped"],
            [
                (
                    "en",
                    "Hello {{customer.first_name}}! Your order {{order.number}} is on its way: {{order.tracking_url}}",
                ),
                (
                    "ru",
                    "Здравствуйте, {{customer.first_name}}! Заказ {{order.number}} в пути: {{order.tracking_url}}",
                ),
                (
                    "th",
                    "สวัสดีคุณ{{customer.first_name}} คำสั่งซื้อ {{order.number}} กำลังจัดส่ง: {{order.tracking_url}}",
                ),
            ],
        ),
        (
            "Parcel delayed",
            OutreachOn::Shipment,
            vec!["delayed"],
            [
                (
                    "en",
                    "Sorry, {{customer.first_name}}: order {{order.number}} is delayed. We are on it.",
                ),
                (
                    "ru",
                    "{{customer.first_name}}, простите: заказ {{order.number}} задерживается. Мы следим за ним.",
                ),
                (
                    "th",
                    "ขออภัยคุณ{{customer.first_name}} คำสั่งซื้อ {{order.number}} ล่าช้า เรากำลังติดตาม",
                ),
            ],
        ),
        (
            "Delivered: how was it?",
            OutreachOn::OrderStatus,
            vec!["delivered"],
            [
                (
                    "en",
                    "Order {{order.number}} was delivered. How was it? Just reply to this message.",
                ),
                (
                    "ru",
                    "Заказ {{order.number}} доставлен. Как вам? Просто ответьте на это сообщение.",
                ),
                (
                    "th",
                    "คำสั่งซื้อ {{order.number}} ส่งถึงแล้ว เป็นอย่างไรบ้าง ตอบกลับข้อความนี้ได้เลย",
                ),
            ],
        ),
        (
            "At risk: apology",
            OutreachOn::AtRisk,
            vec![],
            [
                (
                    "en",
                    "{{customer.first_name}}, we are sorry things went wrong twice. A senior agent will call you today.",
                ),
                (
                    "ru",
                    "{{customer.first_name}}, простите, что дважды всё пошло не так. Старший специалист свяжется с вами сегодня.",
                ),
                (
                    "th",
                    "คุณ{{customer.first_name}} ขออภัยที่เกิดปัญหาสองครั้ง เจ้าหน้าที่อาวุโสจะติดต่อคุณวันนี้",
                ),
            ],
        ),
    ];
    for (name, on, statuses, texts) in rules {
        engine
            .save_outreach_rule(
                owner,
                None,
                OutreachSpec {
                    name: name.into(),
                    on,
                    statuses: statuses.into_iter().map(String::from).collect(),
                    texts: texts
                        .iter()
                        .map(|(l, t)| ((*l).to_owned(), (*t).to_owned()))
                        .collect(),
                    active: true,
                },
            )
            .await?;
    }
    engine
        .save_outreach_settings(
            owner,
            OutreachSettings {
                upsell: true,
                ..OutreachSettings::default()
            },
        )
        .await?;
    Ok(())
}

/// The same people on other channels: the first caller writes on WhatsApp
/// from the number she called from (one profile), and a WhatsApp message under
/// another name from a customer's phone number is suggested to agents, not merged.
async fn seed_one_customer(engine: &Engine, owner: &Principal) -> anyhow::Result<()> {
    engine
        .create_customer(
            owner,
            CustomerInput {
                name: Some("Алексей Смирнов".into()),
                language: Some("ru".into()),
                identities: vec![Identity::parse(IdentityKind::Phone, "+79267778899")?],
                ..CustomerInput::default()
            },
        )
        .await?;
    let chats = [
        (
            "Мария Соколова",
            "+79161112233",
            "Перезвоните, пожалуйста, по заказу 5531 — или ответьте здесь.",
        ),
        (
            "Ольга",
            "+79267778899",
            "Это Ольга, жена Алексея. Можно поменять адрес доставки?",
        ),
    ];
    for (name, number, text) in chats {
        let mut t = NewTicket::from_email("WhatsApp", "unused@example.com", text)?;
        t.channel = Channel::Whatsapp;
        t.customer = CustomerRef::Input(CustomerInput {
            name: Some(name.into()),
            language: Some("ru".into()),
            identities: vec![Identity::parse(IdentityKind::Whatsapp, number)?],
            ..CustomerInput::default()
        });
        engine.create_ticket(owner, t, None).await?;
    }
    Ok(())
}

/// A chat widget (any site may embed it; the help center shows it) and one
/// conversation in it, answered.
/// Shared macros in the three languages: where is my order, a refund, a note.
async fn seed_macros(engine: &Engine, owner: &engine::Principal) -> anyhow::Result<()> {
    use domain::macros::MacroSpec;
    let all = [
        (
            "Где заказ? / Where is my order?",
            serde_json::json!({
                "body": "Hello {{customer.first_name}}, your order is with the courier; the tracking number follows by email. — {{agent.first_name}}",
                "translations": {
                    "ru": "Здравствуйте, {{customer.first_name}}! Заказ передан в доставку, трек-номер придёт письмом. — {{agent.first_name}}",
                    "th": "สวัสดีคุณ{{customer.first_name}} คำสั่งซื้อของคุณอยู่กับบริษัทขนส่งแล้ว หมายเลขติดตามจะส่งทางอีเมล — {{agent.first_name}}"
                },
                "actions": [{"type": "add_tags", "tags": ["delivery"]}, {"type": "set_status", "status": "pending"}]
            }),
        ),
        (
            "Возврат денег / Refund",
            serde_json::json!({
                "body": "Hello {{customer.first_name}}, we have started the refund for request #{{ticket.number}}; the money reaches your card within 5 working days.",
                "translations": {
                    "ru": "Здравствуйте, {{customer.first_name}}! Мы оформили возврат по обращению №{{ticket.number}}; деньги придут на карту в течение 5 рабочих дней.",
                    "th": "สวัสดีคุณ{{customer.first_name}} เราได้เริ่มคืนเงินสำหรับคำขอ #{{ticket.number}} แล้ว เงินจะเข้าบัตรภายใน 5 วันทำการ"
                },
                "actions": [{"type": "add_tags", "tags": ["refund"]}, {"type": "set_priority", "priority": "high"}]
            }),
        ),
        (
            "Заметка: нужен второй уровень / Note: needs L2",
            serde_json::json!({
                "body": "Checked the basics with the customer; needs a specialist. Order and steps above.",
                "visibility": "internal",
                "actions": [{"type": "add_tags", "tags": ["needs-l2"]}]
            }),
        ),
    ];
    for (name, spec) in all {
        let spec: MacroSpec = serde_json::from_value(spec).context("a demo macro")?;
        engine
            .create_macro(
                owner,
                engine::macros::MacroInput {
                    name: Some(name.into()),
                    shared: Some(true),
                    spec: Some(spec),
                },
            )
            .await?;
    }
    Ok(())
}

async fn seed_chat(
    engine: &Engine,
    owner: &Principal,
    agent: &Principal,
) -> anyhow::Result<String> {
    let greeting = [
        ("en", "Hello! Ask us anything about your order."),
        ("ru", "Здравствуйте! Спросите нас о заказе."),
        ("th", "สวัสดีค่ะ สอบถามเรื่องคำสั่งซื้อได้เลย"),
    ]
    .into_iter()
    .map(|(l, g)| (l.to_owned(), g.to_owned()))
    .collect();
    let (c, _) = engine
        .create_chat_channel(
            owner,
            engine::chat::ChatInput {
                name: Some("Demo Shop chat".into()),
                settings: Some(domain::chat::WidgetSettings {
                    greeting,
                    prechat: vec![domain::chat::PrechatField {
                        field: domain::chat::PrechatKind::Name,
                        required: false,
                    }],
                    // New chats go to the first line's queue and its routing.
                    team_id: engine
                        .teams(owner, None, Some(10))
                        .await?
                        .into_iter()
                        .find(|t| t.tier == 1)
                        .map(|t| t.id),
                    ..Default::default()
                }),
                active: Some(true),
                rotate_identity_secret: false,
            },
        )
        .await?;
    let w = engine.widget(&c.widget_key).await?;
    let (v, _) = engine
        .create_visitor(
            &w,
            engine::chat::NewVisitor {
                name: Some("Мария".into()),
                lang: Some("ru".into()),
                page_url: Some("https://shop.example/cart".into()),
                page_title: Some("Корзина".into()),
                ..Default::default()
            },
        )
        .await?;
    let first = engine
        .visitor_send(
            &w,
            &v,
            engine::chat::VisitorMessage {
                client_id: "demo-1".into(),
                text: "Здравствуйте! Можно оплатить заказ частями?".into(),
                attachments: Vec::new(),
            },
        )
        .await?;
    if let Some(t) = first.ticket_id {
        engine
            .add_message(
                agent,
                TicketRef::Id(t),
                NewMessage {
                    body: Body {
                        text: "Да, при оформлении выберите «Оплата частями» — четыре платежа без переплаты.".into(),
                        ..Body::default()
                    },
                    visibility: Visibility::Public,
                    as_customer: false,
                    status: None,
                    external_id: None,
                    imported: false,
                    template: None,
                },
                None,
            )
            .await?;
    }
    seed_bot(engine, owner, &w).await?;
    Ok(c.widget_key)
}

/// The bot's guided flows (order status, a return, a way to a person) and two
/// chats it takes when the server starts: a question the FAQ answers, and a
/// visitor it asks for an order number.
async fn seed_bot(
    engine: &Engine,
    owner: &Principal,
    w: &engine::chat::Widget,
) -> anyhow::Result<()> {
    for spec in engine::flows::templates(None) {
        engine.save_flow(owner, None, spec).await?;
    }
    for (i, (name, lang, text)) in [
        ("Олег", "ru", "Как восстановить пароль?"),
        ("Nina", "en", "Where is my order?"),
    ]
    .into_iter()
    .enumerate()
    {
        let (v, _) = engine
            .create_visitor(
                w,
                engine::chat::NewVisitor {
                    name: Some(name.into()),
                    lang: Some(lang.into()),
                    ..Default::default()
                },
            )
            .await?;
        engine
            .visitor_send(
                w,
                &v,
                engine::chat::VisitorMessage {
                    client_id: format!("demo-bot-{i}"),
                    text: text.into(),
                    attachments: Vec::new(),
                },
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_the_corpus_is_well_formed() {
        assert_eq!(
            fill(
                "Здравствуйте, {name}! Заказ {order}. {agent}",
                "Анна",
                100234,
                "Олег"
            ),
            "Здравствуйте, Анна! Заказ 100234. Олег"
        );
        for c in CONVERSATIONS {
            assert_eq!(
                c.turns.first().map(|t| t.0),
                Some(Who::Customer),
                "{}",
                c.subject
            );
            assert!(Priority::parse(c.priority).is_ok(), "{}", c.priority);
            assert!(["ru", "en", "th"].contains(&c.lang));
            for (_, text) in c.turns {
                let filled = fill(text, "N", 1, "A");
                assert!(
                    !filled.contains('{') && !filled.contains('}'),
                    "stray placeholder in {text}"
                );
            }
        }
        for lang in ["ru", "en", "th"] {
            assert!(
                CONVERSATIONS.iter().filter(|c| c.lang == lang).count() >= 15,
                "{lang}"
            );
            assert!(AGENT_NAMES.iter().any(|(_, l)| *l == lang), "{lang}");
        }
    }
}
