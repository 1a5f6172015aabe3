//! `/app/new`: an agent opens a ticket — an email they write to a customer
//! (delivered from a mailbox of the workspace), or a customer's request they
//! took by phone or in person, logged in the customer's words. Either for a
//! known customer (`?customer=`) or one found or created by address or number.

use super::i18n::Tr;
use super::views::Opt;
use super::{Chrome, Ctx, Form, OrPage, UiError, describe, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;
use domain::ticket::{Channel, Priority, Status};
use engine::EngineError;
use engine::customers::CustomerInput;
use engine::tickets::{Body, CustomerRef, NewTicket};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/new", get(page).post(create))
}

/// Channels a logged request may have come by.
const LOGGED: [Channel; 4] = [
    Channel::Phone,
    Channel::Email,
    Channel::WebForm,
    Channel::Api,
];
/// Where a new ticket may go at once ("submit as").
const SUBMIT_AS: [Status; 2] = [Status::Pending, Status::Solved];

/// What the form holds, to show it again after a refusal.
#[derive(Default)]
pub struct Values {
    /// `email` (the agent writes to the customer) or `log` (the customer's words).
    pub kind: String,
    pub customer_id: String,
    pub email: String,
    pub name: String,
    pub phone: String,
    pub subject: String,
    pub body: String,
    pub cc: String,
    pub tags: String,
}

#[derive(Template)]
#[template(path = "new_ticket.html")]
pub struct NewTicketPage {
    pub chrome: Chrome,
    pub v: Values,
    /// The known customer the ticket is for: name and contacts.
    pub customer: Option<(String, String)>,
    pub mailboxes: Vec<Opt>,
    pub channels: Vec<Opt>,
    pub priorities: Vec<Opt>,
    pub statuses: Vec<Opt>,
    pub teams: Vec<Opt>,
    pub agents: Vec<Opt>,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct Params {
    customer: Option<String>,
}

fn options(
    none: Option<String>,
    items: impl IntoIterator<Item = (String, String)>,
    selected: &str,
) -> Vec<Opt> {
    none.map(|label| (String::new(), label))
        .into_iter()
        .chain(items)
        .map(|(value, label)| Opt {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

async fn render(
    app: &AppState,
    ctx: &Ctx,
    v: Values,
    f: Option<&Form>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let sel = |name: &str| f.and_then(|f| f.get(name)).unwrap_or_default().to_owned();
    let customer = match v.customer_id.parse::<uuid::Uuid>() {
        Ok(id) => {
            let c = app
                .engine
                .customer(&ctx.p, CustomerId(id))
                .await
                .or_page(tr)?;
            let contacts = c
                .identities
                .iter()
                .map(|i| i.value.clone())
                .collect::<Vec<_>>()
                .join(", ");
            let name = if c.name.is_empty() {
                contacts.clone()
            } else {
                c.name
            };
            Some((name, contacts))
        }
        Err(_) => None,
    };
    let boxes = app.engine.sending_mailboxes(&ctx.p).await.or_page(tr)?;
    let teams = app
        .engine
        .teams(&ctx.p, None, Some(200))
        .await
        .or_page(tr)?;
    let users = app
        .engine
        .users(&ctx.p, None, Some(200))
        .await
        .or_page(tr)?;
    let mut priority = sel("priority");
    if priority.is_empty() {
        priority = Priority::Normal.as_str().to_owned();
    }
    let page = NewTicketPage {
        chrome: ctx.chrome(tr.t("compose.title")),
        customer,
        mailboxes: options(
            None,
            boxes
                .into_iter()
                .map(|(id, name, address)| (id.to_string(), format!("{name} <{address}>"))),
            &sel("mailbox"),
        ),
        channels: options(
            None,
            LOGGED
                .iter()
                .map(|c| (c.as_str().to_owned(), tr.label("channel", c.as_str()))),
            &sel("channel"),
        ),
        priorities: options(
            None,
            Priority::ALL
                .iter()
                .map(|p| (p.as_str().to_owned(), tr.label("priority", p.as_str()))),
            &priority,
        ),
        statuses: options(
            Some(tr.t("compose.status_default").to_owned()),
            SUBMIT_AS
                .iter()
                .map(|s| (s.as_str().to_owned(), tr.label("status", s.as_str()))),
            &sel("status"),
        ),
        teams: options(
            Some("—".to_owned()),
            teams.into_iter().map(|t| (t.id.to_string(), t.name)),
            &sel("team"),
        ),
        agents: options(
            Some("—".to_owned()),
            users
                .into_iter()
                .filter(|u| u.user.active && u.user.role.can_work_tickets())
                .map(|u| (u.user.id.to_string(), u.user.name)),
            &sel("assignee"),
        ),
        v,
        error,
    };
    html(&page)
}

async fn page(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<Params>,
) -> Result<Response, UiError> {
    ctx.p.require_ticket_work().or_page(ctx.tr)?;
    let v = Values {
        kind: "email".into(),
        customer_id: q.customer.unwrap_or_default(),
        ..Values::default()
    };
    render(&app, &ctx, v, None, None).await
}

fn values(f: &Form) -> Values {
    let get = |k: &str| f.get(k).unwrap_or_default().to_owned();
    Values {
        kind: if f.get("kind") == Some("log") {
            "log".into()
        } else {
            "email".into()
        },
        customer_id: get("customer_id"),
        email: get("email"),
        name: get("name"),
        phone: get("phone"),
        subject: get("subject"),
        body: get("body"),
        cc: get("cc"),
        tags: get("tags"),
    }
}

fn refusal(e: EngineError, tr: &Tr) -> String {
    describe(&e, tr).unwrap_or_else(|| e.to_string())
}

/// The ticket the form describes, or what to fix, in the person's words.
fn ticket_of(f: &Form, v: &Values, tr: &Tr) -> Result<NewTicket, String> {
    let bad = |field: &str| format!("{}: {}", tr.t(field), tr.t("error.invalid"));
    let customer = if let Ok(id) = v.customer_id.parse::<uuid::Uuid>() {
        CustomerRef::Id(CustomerId(id))
    } else {
        let mut identities = Vec::new();
        if let Some(e) = f.text("email") {
            identities
                .push(Identity::parse(IdentityKind::Email, e).map_err(|e| refusal(e.into(), tr))?);
        }
        if let Some(p) = f.text("phone") {
            identities
                .push(Identity::parse(IdentityKind::Phone, p).map_err(|e| refusal(e.into(), tr))?);
        }
        if identities.is_empty() {
            return Err(tr.t("compose.customer_needed").to_owned());
        }
        CustomerRef::Input(CustomerInput {
            name: f.text("name").map(str::to_owned),
            identities,
            ..CustomerInput::default()
        })
    };
    let outbound = v.kind == "email";
    let channel = if outbound {
        Channel::Email
    } else {
        Channel::parse(f.get("channel").unwrap_or("phone")).map_err(|_| bad("compose.channel"))?
    };
    let id = |name: &str| -> Result<Option<uuid::Uuid>, String> {
        f.text(name)
            .map(|s| s.parse::<uuid::Uuid>().map_err(|_| bad("error.invalid")))
            .transpose()
    };
    let split = |s: &str| -> Vec<String> {
        s.split([',', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    Ok(NewTicket {
        subject: v.subject.clone(),
        channel,
        priority: match f.text("priority") {
            Some(p) => Some(Priority::parse(p).map_err(|_| bad("inbox.priority"))?),
            None => None,
        },
        customer,
        body: if outbound {
            // The agent's own words, formatted as in the ticket's composer.
            let text = super::ticket::signed(v.body.clone(), &f.ctx.me.preferences.signature);
            Body {
                html: engine::markdown::reply_html(&text, &[], false),
                text,
                ..Body::default()
            }
        } else {
            Body {
                text: v.body.clone(),
                ..Body::default()
            }
        },
        external_id: None,
        tags: split(&v.tags),
        category: None,
        assignee_id: id("assignee")?.map(UserId),
        team_id: id("team")?.map(TeamId),
        tier: None,
        custom_fields: Default::default(),
        from_agent: outbound,
        status: match f.text("status") {
            Some(s) => Some(Status::parse(s).map_err(|_| bad("inbox.status"))?),
            None => None,
        },
        cc: if outbound { split(&v.cc) } else { Vec::new() },
        account_id: if outbound {
            id("mailbox")?.map(AccountId)
        } else {
            None
        },
    })
}

async fn create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let tr = ctx.tr;
    let v = values(&f);
    let n = match ticket_of(&f, &v, &tr) {
        Ok(n) => n,
        Err(e) => return render(&app, ctx, v, Some(&f), Some(e)).await,
    };
    match app.engine.create_ticket(&ctx.p, n, None).await {
        Ok(c) => Ok(done(
            &format!("/app/t/{}", c.ticket.number),
            "flash.ticket_created",
        )),
        Err(
            e @ (EngineError::Invalid(_)
            | EngineError::Unknown(..)
            | EngineError::Rule(_)
            | EngineError::Conflict(_)
            | EngineError::Duplicate(_)
            | EngineError::TooLarge(_)),
        ) => {
            let why = refusal(e, &tr);
            render(&app, ctx, v, Some(&f), Some(why)).await
        }
        Err(e) => Err(UiError::engine(e, tr)),
    }
}
