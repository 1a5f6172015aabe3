//! `otklik import orders FILE`: orders from a store's CSV export, pushed one
//! by one through the same upsert the API uses (so importing a file twice
//! changes nothing the second time).
//!
//! One row per line item; the rows of one order follow each other (as
//! exports write them) and share `external_id`. Columns, by header name, any
//! order; only `external_id` is required on every row, and a new order needs
//! `currency`, `total` and an identity (`email`, `phone` or `customer_id`):
//!
//! `external_id, number, email, phone, name, status, currency, total,
//! placed_at, sku, item_name, quantity, price, carrier, tracking_number,
//! tracking_url, shipment_status`
//!
//! A row that cannot be read fails its order only; the import goes on and
//! names each failure by line.

use anyhow::Context;
use domain::identity::{Identity, IdentityKind};
use domain::order::{LineItem, OrderPush, OrderStatus, ShipmentPush, ShipmentStatus};
use engine::customers::CustomerInput;
use engine::orders::{OrderInput, customer_ref};
use engine::{Engine, Principal};
use std::collections::HashMap;
use std::io::Read;

/// Failures listed at the end (the count is always given).
const LISTED_FAILURES: usize = 20;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// `(line, order, reason)`.
    pub failed: Vec<(u64, String, String)>,
}

/// One order gathered from its rows.
struct Pending {
    line: u64,
    input: Result<OrderInput, String>,
}

struct Columns(HashMap<String, usize>);

impl Columns {
    fn get<'r>(&self, row: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        self.0
            .get(name)
            .and_then(|i| row.get(*i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

fn time(field: &str, v: Option<&str>) -> Result<Option<domain::Timestamp>, String> {
    v.map(|s| {
        domain::Timestamp::parse_rfc3339(s)
            .ok_or_else(|| format!("{field}: {s:?} is not an RFC 3339 time"))
    })
    .transpose()
}

/// Starts an order from its first row.
fn start(cols: &Columns, row: &csv::StringRecord, external_id: &str) -> Result<OrderInput, String> {
    let mut identities = Vec::new();
    if let Some(e) = cols.get(row, "email") {
        identities.push(Identity::parse(IdentityKind::Email, e).map_err(|e| e.to_string())?);
    }
    if let Some(p) = cols.get(row, "phone") {
        identities.push(Identity::parse(IdentityKind::Phone, p).map_err(|e| e.to_string())?);
    }
    let customer_id = cols
        .get(row, "customer_id")
        .map(|c| {
            c.parse()
                .map_err(|_| format!("customer_id: {c:?} is not an id"))
        })
        .transpose()?;
    let input = CustomerInput {
        name: cols.get(row, "name").map(str::to_owned),
        identities,
        ..CustomerInput::default()
    };
    Ok(OrderInput {
        external_id: external_id.to_owned(),
        customer: customer_ref(customer_id, input),
        push: OrderPush {
            number: cols.get(row, "number").map(str::to_owned),
            status: cols
                .get(row, "status")
                .map(|s| OrderStatus::parse(s).map_err(|e| e.to_string()))
                .transpose()?,
            status_at: None,
            currency: cols.get(row, "currency").map(str::to_owned),
            total: cols.get(row, "total").map(str::to_owned),
            placed_at: time("placed_at", cols.get(row, "placed_at"))?,
            items: None,
            shipments: Vec::new(),
        },
    })
}

/// Adds a row's line item and shipment to its order.
fn add(cols: &Columns, row: &csv::StringRecord, o: &mut OrderInput) -> Result<(), String> {
    // An order's rows are gathered before it is pushed: bounded here, so a
    // file of one endless order cannot fill memory.
    if o.push
        .items
        .as_ref()
        .is_some_and(|i| i.len() >= domain::order::MAX_ITEMS)
    {
        return Err(format!("more than {} items", domain::order::MAX_ITEMS));
    }
    if let Some(sku) = cols.get(row, "sku") {
        let quantity = cols
            .get(row, "quantity")
            .unwrap_or("1")
            .parse::<i64>()
            .map_err(|_| "quantity: not a whole number".to_owned())?;
        o.push.items.get_or_insert_with(Vec::new).push(LineItem {
            sku: sku.to_owned(),
            name: cols.get(row, "item_name").unwrap_or(sku).to_owned(),
            quantity,
            price: cols.get(row, "price").unwrap_or("0").to_owned(),
        });
    }
    if let Some(tracking) = cols.get(row, "tracking_number")
        && !o
            .push
            .shipments
            .iter()
            .any(|s| s.tracking_number == tracking)
    {
        if o.push.shipments.len() >= domain::order::MAX_SHIPMENTS {
            return Err(format!(
                "more than {} shipments",
                domain::order::MAX_SHIPMENTS
            ));
        }
        o.push.shipments.push(ShipmentPush {
            carrier: cols.get(row, "carrier").unwrap_or("—").to_owned(),
            tracking_number: tracking.to_owned(),
            tracking_url: cols.get(row, "tracking_url").map(str::to_owned),
            status: cols
                .get(row, "shipment_status")
                .map(|s| ShipmentStatus::parse(s).map_err(|e| e.to_string()))
                .transpose()?
                .unwrap_or(ShipmentStatus::InTransit),
            at: None,
            note: None,
        });
    }
    Ok(())
}

/// Imports `reader` (CSV with a header row) of `total_bytes` into the
/// principal's workspace, calling `progress(bytes_read, total_bytes)`.
pub async fn orders(
    engine: &Engine,
    p: &Principal,
    reader: impl Read,
    total_bytes: u64,
    progress: &dyn Fn(u64, u64),
) -> anyhow::Result<Imported> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv.headers().context("reading the header row")?.clone();
    let cols = Columns(
        headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
            .collect(),
    );
    if !cols.0.contains_key("external_id") {
        anyhow::bail!("the header row has no external_id column");
    }
    let mut out = Imported::default();
    let mut current: Option<(String, Pending)> = None;
    let mut record = csv::StringRecord::new();
    loop {
        let more = csv.read_record(&mut record).context("reading a row")?;
        let line = record.position().map_or(0, |p| p.line());
        let id = more.then(|| cols.get(&record, "external_id").map(str::to_owned));
        // A new order (or the end) sends the one gathered so far.
        let same = matches!((&current, &id), (Some((cur, _)), Some(Some(i))) if cur == i);
        if !same && let Some((ext, pending)) = current.take() {
            push(engine, p, ext, pending, &mut out).await;
            progress(csv.position().byte(), total_bytes);
        }
        let Some(id) = id else { break };
        let Some(id) = id else {
            out.failed
                .push((line, String::new(), "no external_id".to_owned()));
            continue;
        };
        let pending = &mut current
            .get_or_insert_with(|| {
                let input = start(&cols, &record, &id);
                (id.clone(), Pending { line, input })
            })
            .1;
        if let Ok(o) = &mut pending.input
            && let Err(e) = add(&cols, &record, o)
        {
            // Later rows of a failed order are read and dropped.
            pending.input = Err(format!("line {line}: {e}"));
        }
    }
    progress(total_bytes, total_bytes);
    Ok(out)
}

async fn push(engine: &Engine, p: &Principal, ext: String, pending: Pending, out: &mut Imported) {
    let r = match pending.input {
        Ok(input) => engine
            .upsert_order(p, input)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match r {
        Ok(u) if u.created => out.created += 1,
        Ok(u) if u.changed => out.updated += 1,
        Ok(_) => out.unchanged += 1,
        Err(e) => out.failed.push((pending.line, ext, e)),
    }
}

/// The summary printed after an import.
pub fn summary(r: &Imported) -> String {
    let mut s = format!(
        "{} new, {} updated, {} unchanged, {} failed",
        r.created,
        r.updated,
        r.unchanged,
        r.failed.len()
    );
    for (line, ext, why) in r.failed.iter().take(LISTED_FAILURES) {
        s.push_str(&format!("\n  line {line} (order {ext:?}): {why}"));
    }
    if r.failed.len() > LISTED_FAILURES {
        s.push_str(&format!(
            "\n  … and {} more",
            r.failed.len() - LISTED_FAILURES
        ));
    }
    s
}
