//! Guided flows: admins keep them (`domain::flow` checks each whole), the
//! bot's model learns their phrases beside the FAQ, and a conversation in one
//! moves a step per customer reply (`advance`, inside the bot's transaction,
//! so a restart finds it where it was).

use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::flow::{FlowSpec, FlowState, MAX_FLOWS, MAX_TRIES, Step, Texts, answer, pick, render};
use domain::ids::*;
use serde_json::json;
use store::Tx;
use store::flows::{self as db, Flow};
use store::tickets::Ticket;

impl Engine {
    pub async fn flows(&self, p: &Principal) -> Result<Vec<Flow>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::list(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn flow(&self, p: &Principal, id: FlowId) -> Result<Flow, EngineError> {
        let mut c = self.store.read().await?;
        db::get(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Creates a flow (`id` None) or replaces one; keys are unique (409).
    pub async fn save_flow(
        &self,
        p: &Principal,
        id: Option<FlowId>,
        spec: FlowSpec,
    ) -> Result<Flow, EngineError> {
        p.require_admin()?;
        let spec = spec.validated()?;
        spec.coherent().map_err(EngineError::Conflict)?;
        for team in spec.teams() {
            self.team(p, team).await?;
        }
        let ws = p.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let existing = db::list(&mut tx.conn(), ws).await?;
                    if existing
                        .iter()
                        .any(|f| f.spec.key == spec.key && Some(f.id) != id)
                    {
                        return Err(EngineError::Conflict(
                            Message::new(Code::FlowKeyTaken).with("key", format!("{:?}", spec.key)),
                        ));
                    }
                    match id {
                        None => {
                            if existing.len() >= MAX_FLOWS {
                                return Err(EngineError::Rule(
                                    Message::new(Code::FlowsLimit).with("max_flows", MAX_FLOWS),
                                ));
                            }
                            let f = Flow {
                                id: FlowId::new(),
                                workspace_id: ws,
                                spec,
                                created_at: now,
                                updated_at: now,
                            };
                            db::insert(tx, &f).await?;
                            Ok(f)
                        }
                        Some(id) => {
                            let mut f = existing
                                .into_iter()
                                .find(|f| f.id == id)
                                .ok_or(EngineError::NotFound)?;
                            f.spec = spec;
                            f.updated_at = now;
                            db::update(tx, &f).await?;
                            Ok(f)
                        }
                    }
                })
            })
            .await
    }

    pub async fn delete_flow(&self, p: &Principal, id: FlowId) -> Result<(), EngineError> {
        p.require_admin()?;
        let ws = p.workspace_id;
        let gone = self
            .store
            .write(move |tx| {
                Box::pin(async move { Ok::<_, EngineError>(db::delete(tx, ws, id).await?) })
            })
            .await?;
        if gone {
            Ok(())
        } else {
            Err(EngineError::NotFound)
        }
    }
}

/// Flows to start from: order status, a return for `returns` (a team), a
/// way to a person. Texts in English, Russian and Thai.
pub fn templates(returns: Option<TeamId>) -> Vec<FlowSpec> {
    let t = |en: &str, ru: &str, th: &str| -> Texts {
        [("en", en), ("ru", ru), ("th", th)]
            .into_iter()
            .map(|(l, x)| (l.to_owned(), x.to_owned()))
            .collect()
    };
    let spec = |v: serde_json::Value| -> Option<FlowSpec> { serde_json::from_value(v).ok() };
    [
        spec(json!({
            "key": "order-status", "name": "Order status",
            "phrases": ["where is my order", "order status", "when will my order arrive", "track my parcel",
                        "где мой заказ", "статус заказа", "когда привезут заказ", "отследить посылку",
                        "พัสดุของฉันอยู่ไหน", "สถานะคำสั่งซื้อ", "ติดตามพัสดุ"],
            "steps": [
                {"type": "ask", "var": "number", "expect": "order_number", "skip_if_order": true,
                 "prompt": t("What is your order number?", "Назовите, пожалуйста, номер заказа.", "ขอหมายเลขคำสั่งซื้อด้วยค่ะ")},
                {"type": "find_order", "var": "number",
                 "not_found": t("I can't find order {{answer.number}} among your orders.",
                                "Не нахожу заказ {{answer.number}} среди ваших заказов.",
                                "ไม่พบคำสั่งซื้อ {{answer.number}} ในบัญชีของคุณ")},
                {"type": "say", "text": t(
                    "Order {{order.number}}: {{order.status}}. {{order.carrier}} {{order.tracking_number}} {{order.tracking_url}}",
                    "Заказ {{order.number}}: {{order.status}}. {{order.carrier}} {{order.tracking_number}} {{order.tracking_url}}",
                    "คำสั่งซื้อ {{order.number}}: {{order.status}} {{order.carrier}} {{order.tracking_number}} {{order.tracking_url}}")}
            ]
        })),
        spec(json!({
            "key": "return", "name": "Start a return",
            "phrases": ["I want to return an item", "return my order", "start a return", "refund",
                        "хочу вернуть товар", "оформить возврат", "вернуть заказ", "возврат денег",
                        "ขอคืนสินค้า", "ต้องการคืนสินค้า", "ขอเงินคืน"],
            "steps": [
                {"type": "ask", "var": "number", "expect": "order_number",
                 "prompt": t("Which order is it? Its number, please.", "Какой заказ? Назовите его номер.", "คำสั่งซื้อหมายเลขอะไรคะ")},
                {"type": "find_order", "var": "number",
                 "not_found": t("I can't find order {{answer.number}} among your orders.",
                                "Не нахожу заказ {{answer.number}} среди ваших заказов.",
                                "ไม่พบคำสั่งซื้อ {{answer.number}} ในบัญชีของคุณ")},
                {"type": "ask", "var": "item",
                 "prompt": t("Which item would you like to return?", "Какой товар хотите вернуть?", "ต้องการคืนสินค้าชิ้นไหนคะ")},
                {"type": "ask", "var": "reason", "expect": "choice",
                 "choices": ["Wrong size / Не подошёл размер", "Defective / Брак", "Changed my mind / Передумал(а)", "Other / Другое"],
                 "prompt": t("Why are you returning it?", "Почему возвращаете?", "เหตุผลในการคืนสินค้าคืออะไรคะ")},
                {"type": "file_ticket", "team_id": returns, "subject": "Return: order {{order.number}}, {{answer.item}}",
                 "note": "Return requested in the chat.\nOrder: {{order.number}} ({{order.status}})\nItem: {{answer.item}}\nReason: {{answer.reason}}",
                 "tags": ["return"]},
                {"type": "say", "text": t(
                    "Thank you! Return request #{{ticket.number}} is filed; our returns team will write to you here.",
                    "Спасибо! Заявка на возврат №{{ticket.number}} оформлена, отдел возвратов напишет вам здесь.",
                    "ขอบคุณค่ะ คำขอคืนสินค้า #{{ticket.number}} ถูกส่งแล้ว ทีมคืนสินค้าจะติดต่อกลับในแชทนี้")}
            ]
        })),
        spec(json!({
            "key": "person", "name": "Talk to a person",
            "phrases": ["I want to speak to someone", "connect me with support", "соедините со специалистом", "нужна помощь специалиста", "ขอติดต่อเจ้าหน้าที่"],
            "steps": [
                {"type": "handoff", "text": t("Connecting you with a colleague — they will answer here.",
                                               "Соединяю со специалистом — он ответит здесь же.",
                                               "กำลังเชื่อมต่อกับเจ้าหน้าที่ค่ะ")}
            ]
        })),
    ]
    .into_iter()
    .flatten()
    .filter_map(|s| s.validated().ok())
    .collect()
}

/// What a step of a flow asks of the bot's transaction.
pub(crate) enum Next {
    /// Say these and wait for the customer's reply (state kept).
    Wait(Vec<String>),
    /// Say these; the flow is done (`filed`: people have it now).
    Done { said: Vec<String>, filed: bool },
    /// Say these, then hand the conversation to people (to `team`, if named;
    /// `stuck`: the customer's replies did not fit, rather than a step that
    /// hands off).
    Handoff {
        said: Vec<String>,
        team: Option<TeamId>,
        stuck: bool,
    },
}

/// A question as the customer sees it: the prompt, and the choices numbered.
fn question(prompt: &Texts, choices: &[String], lang: &str) -> String {
    let mut q = pick(prompt, lang).to_owned();
    for (i, c) in choices.iter().enumerate() {
        q.push_str(&format!("\n{}. {c}", i + 1));
    }
    q
}

/// Moves the conversation on `t` through flow `f` from `st`, with the
/// customer's `reply` to the waiting question (None: the flow just started).
pub(crate) async fn advance(
    tx: &mut Tx,
    t: &Ticket,
    f: &FlowSpec,
    st: &mut FlowState,
    reply: Option<&str>,
    lang: &str,
    first_name: &str,
) -> Result<Next, EngineError> {
    let ws = t.workspace_id;
    let mut said: Vec<String> = Vec::new();
    if let Some(reply) = reply
        && let Some(Step::Ask {
            var,
            prompt,
            expect,
            choices,
            ..
        }) = f.steps.get(st.step)
    {
        match answer(*expect, choices, reply) {
            Some(a) => {
                st.answers.insert(var.clone(), a);
                st.step += 1;
                st.tries = 0;
            }
            None => {
                st.tries += 1;
                if st.tries >= MAX_TRIES {
                    return Ok(Next::Handoff {
                        said,
                        team: None,
                        stuck: true,
                    });
                }
                said.push(question(prompt, choices, lang));
                return Ok(Next::Wait(said));
            }
        }
    }
    let order_of = async |tx: &mut Tx, id: Option<OrderId>| -> Result<_, EngineError> {
        Ok(match id {
            Some(id) => store::orders::get(&mut tx.conn(), ws, id).await?,
            None => None,
        })
    };
    while let Some(step) = f.steps.get(st.step) {
        match step {
            Step::Ask {
                prompt,
                choices,
                skip_if_order,
                var,
                ..
            } => {
                if *skip_if_order
                    && !st.answers.contains_key(var)
                    && let Some(latest) =
                        store::orders::list(&mut tx.conn(), ws, Some(t.customer_id), None, None, 1)
                            .await?
                            .into_iter()
                            .next()
                {
                    st.order_id = Some(latest.id);
                    st.step += 1;
                    continue;
                }
                said.push(question(prompt, choices, lang));
                return Ok(Next::Wait(said));
            }
            Step::FindOrder { var, not_found } => {
                let number = var.as_ref().and_then(|v| st.answers.get(v)).cloned();
                let found = match &number {
                    Some(n) => store::orders::owned_with_numbers(
                        &mut tx.conn(),
                        ws,
                        t.customer_id,
                        std::slice::from_ref(n),
                    )
                    .await?
                    .into_iter()
                    .next(),
                    // A question skipped for a customer with orders: their latest.
                    None => match order_of(tx, st.order_id).await? {
                        Some(o) => Some(o),
                        None => store::orders::list(
                            &mut tx.conn(),
                            ws,
                            Some(t.customer_id),
                            None,
                            None,
                            1,
                        )
                        .await?
                        .into_iter()
                        .next(),
                    },
                };
                match found {
                    Some(o) => {
                        st.order_id = Some(o.id);
                        st.step += 1;
                    }
                    None => {
                        let values = |name: &str| match name.strip_prefix("answer.") {
                            Some(v) => st.answers.get(v).cloned(),
                            None => (name == "customer.first_name").then(|| first_name.to_owned()),
                        };
                        said.push(render(pick(not_found, lang), values));
                        // Ask for the number again, up to the tries allowed.
                        let ask = var.as_ref().and_then(|v| {
                            f.steps
                                .iter()
                                .position(|s| matches!(s, Step::Ask { var: a, .. } if a == v))
                        });
                        st.tries += 1;
                        match ask {
                            Some(i) if st.tries < MAX_TRIES => {
                                if let Some(v) = var {
                                    st.answers.remove(v);
                                }
                                st.step = i;
                                if let Some(Step::Ask {
                                    prompt, choices, ..
                                }) = f.steps.get(i)
                                {
                                    said.push(question(prompt, choices, lang));
                                }
                                return Ok(Next::Wait(said));
                            }
                            _ => {
                                return Ok(Next::Handoff {
                                    said,
                                    team: None,
                                    stuck: true,
                                });
                            }
                        }
                    }
                }
            }
            Step::Say { text } => {
                let order = order_of(tx, st.order_id).await?;
                said.push(fill(pick(text, lang), st, order.as_ref(), t, first_name));
                st.step += 1;
            }
            Step::FileTicket {
                team_id,
                subject,
                note,
                tags,
            } => {
                let order = order_of(tx, st.order_id).await?;
                let subject = fill(subject, st, order.as_ref(), t, first_name);
                let note = fill(note, st, order.as_ref(), t, first_name);
                let mut all_tags = t.tags.clone();
                all_tags.extend(tags.iter().cloned());
                let mut patch = crate::tickets::TicketPatch {
                    tags: Some(all_tags),
                    ..Default::default()
                };
                if let Ok(s) = domain::ticket::normalize_subject(&subject) {
                    patch.subject = Some(s);
                }
                if let Some(team) = team_id
                    && store::people::team_by_id(&mut tx.conn(), ws, *team)
                        .await?
                        .is_some()
                {
                    patch.team_id = Some(Some(*team));
                }
                crate::tickets::patch_ticket(
                    tx,
                    ws,
                    t.id,
                    domain::event::Actor::Bot,
                    patch.checked()?,
                )
                .await?;
                if let Some(o) = &order {
                    store::orders::link_ticket(tx, ws, t.id, Some(o.id)).await?;
                }
                crate::rules::post_as(
                    tx,
                    t,
                    domain::ticket::Visibility::Internal,
                    note,
                    domain::event::Actor::Bot,
                    domain::ticket::AuthorKind::Bot,
                )
                .await?;
                st.filed = true;
                st.step += 1;
            }
            Step::Handoff { team_id, text } => {
                let order = order_of(tx, st.order_id).await?;
                said.push(fill(pick(text, lang), st, order.as_ref(), t, first_name));
                return Ok(Next::Handoff {
                    said,
                    team: *team_id,
                    stuck: false,
                });
            }
        }
    }
    Ok(Next::Done {
        said,
        filed: st.filed,
    })
}

/// A flow's text with the answers, the order found and the ticket filled in.
fn fill(
    text: &str,
    st: &FlowState,
    order: Option<&store::orders::OrderRecord>,
    t: &Ticket,
    first_name: &str,
) -> String {
    let shipment = order.and_then(|o| o.order.shipments.last());
    let out = render(text, |name| match name {
        "customer.first_name" => Some(first_name.to_owned()),
        "ticket.number" => Some(t.number.to_string()),
        "order.number" => order.map(|o| o.order.number.clone()),
        "order.status" => order.map(|o| o.order.status.as_str().replace('_', " ")),
        "order.tracking_number" => shipment.map(|s| s.tracking_number.clone()),
        "order.tracking_url" => order.and_then(|o| o.order.tracking_url().map(str::to_owned)),
        "order.carrier" => shipment.map(|s| s.carrier.clone()),
        other => other
            .strip_prefix("answer.")
            .and_then(|v| st.answers.get(v).cloned()),
    });
    // Placeholders with nothing behind them leave double spaces.
    out.split('\n')
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a workspace's flow is active now, by key.
pub(crate) async fn active(
    c: &mut store::Conn<'_>,
    ws: WorkspaceId,
    key: &str,
) -> Result<Option<FlowSpec>, EngineError> {
    Ok(db::by_key(c, ws, key)
        .await?
        .map(|f| f.spec)
        .filter(|s| s.active))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_are_valid_flows() {
        let all = templates(None);
        let keys: Vec<&str> = all.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["order-status", "return", "person"]);
        let returns = TeamId::new();
        assert_eq!(templates(Some(returns))[1].teams(), [returns]);
    }
}
