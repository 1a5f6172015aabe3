//! The rules the server enforces on input, stated in the OpenAPI document.
//!
//! The handlers' annotations give the document its shape; what they cannot say
//! (patterns built from one character table, "one of these identities", "options
//! only for dropdowns", nullable enums, the mailbox documents) is written here,
//! on the generated JSON, so that a schema-driven client is told exactly what the
//! validators in `domain` and `engine` accept. The tests below hold the patterns
//! to those validators.

use serde_json::{Value, json};
use std::sync::OnceLock;

/// White space as Rust's `trim` and `char::is_whitespace` read it.
const WS: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Control characters (`char::is_control`).
const CC: &str = r"\x00-\x1f\x7f-\x9f";
/// Bidirectional formatting characters (`domain::text::is_bidi_control`).
const BIDI: &str = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069";

/// Text that keeps something after `domain::text::clean_line`: at least one
/// character that is neither space, control nor bidirectional formatting. Not
/// anchored: it finds that character anywhere.
pub fn visible() -> String {
    format!("[^{WS}{CC}{BIDI}]")
}

/// An address `domain::identity::EmailAddress` accepts.
pub fn email() -> String {
    let c = format!("[^@{WS}{CC}<>\",;]");
    let d = format!("[^@.{WS}{CC}<>\",;]");
    format!("^{c}{{1,64}}@{d}+(\\.{d}+)+$")
}

/// A phone number `domain::identity::Identity` reads as E.164: an optional `+`
/// or `00`, then 8 to 15 digits (the first not zero) with the usual separators.
pub fn phone() -> String {
    let sep = r"[ .()\xa0-]";
    format!("^[{WS}]*(\\+|00)?{sep}*[1-9]({sep}*[0-9]){{7,14}}{sep}*[{WS}]*$")
}

/// A messenger or external id: 1 to 255 characters once trimmed, none a control.
pub fn other_id() -> String {
    format!("^[{WS}]*[^{WS}{CC}]([^{CC}]{{0,253}}[^{WS}{CC}])?[{WS}]*$")
}

/// A Telegram handle: as [`other_id`], after one leading `@` is dropped.
pub fn telegram() -> String {
    format!(
        "^[{WS}]*(@[^{CC}]{{0,254}}[^{WS}{CC}]|[^@{WS}{CC}]([^{CC}]{{0,253}}[^{WS}{CC}])?)[{WS}]*$"
    )
}

/// A language tag `domain::identity::normalize_language` accepts.
pub fn language() -> String {
    format!("^[{WS}]*[A-Za-z]{{2,3}}([-_][A-Za-z0-9]{{2,8}})*[{WS}]*$")
}

/// A site a chat widget may run on (`domain::chat::normalize_origin`).
pub fn origin() -> String {
    format!(
        "^[{WS}]*[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:(0|[1-9][0-9]{{0,3}}|[1-5][0-9]{{4}}|6[0-4][0-9]{{3}}|65[0-4][0-9]{{2}}|655[0-2][0-9]|6553[0-5]))?/?[{WS}]*$"
    )
}

/// A tag or skill (`domain::ticket::normalize_tag`).
pub fn tag() -> String {
    format!("^[{WS}]*[^,{WS}{CC}{BIDI}]{{1,64}}[{WS}]*$")
}

/// An IANA zone name by shape (`Europe/Moscow`), or `UTC`.
pub const TIME_ZONE: &str = r"^(UTC|[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)+)$";

/// A host name or IP address, as the mailbox settings take it.
pub const HOST: &str = r"^[A-Za-z0-9.:\[\]-]+$";

/// An `Idempotency-Key`: visible ASCII, spaces inside allowed, 1 to 255
/// characters; spaces and tabs around it are not part of it (HTTP strips them
/// from header values, and so does the server).
pub const IDEMPOTENCY_KEY: &str = r"^[ \t]*[!-~]([ !-~]{0,253}[!-~])?[ \t]*$";

/// Text without control characters.
pub fn no_controls() -> String {
    format!("^[^{CC}]*$")
}

fn nullable(mut v: Value) -> Value {
    if let Some(t) = v.get("type").and_then(Value::as_str).map(str::to_owned) {
        v["type"] = json!([t, "null"]);
        if let Some(e) = v.get_mut("enum").and_then(Value::as_array_mut) {
            e.push(Value::Null);
        }
        v
    } else {
        json!({ "oneOf": [{ "type": "null" }, v] })
    }
}

fn line(max: u32) -> Value {
    json!({ "type": "string", "maxLength": max, "pattern": visible() })
}

fn string(pattern: &str, max: u32) -> Value {
    json!({ "type": "string", "maxLength": max, "pattern": pattern })
}

fn list(items: Value, max: u32) -> Value {
    json!({ "type": "array", "items": items, "maxItems": max })
}

fn enum_of(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

fn names<T: Copy>(all: &[T], f: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| f(*v)).collect()
}

/// What a customer's identity may be, per kind.
fn identity_schema() -> Value {
    use domain::identity::IdentityKind as K;
    let branch = |kinds: &[K], value: Value| {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["kind", "value"],
            "properties": {
                "kind": enum_of(&names(kinds, K::as_str)),
                "value": value,
            }
        })
    };
    let others: Vec<K> = K::ALL
        .iter()
        .copied()
        .filter(|k| !matches!(k, K::Email | K::Phone | K::Whatsapp | K::Telegram))
        .collect();
    json!({
        "description": "How a person is known on one channel; the value is normalised for its kind.",
        "oneOf": [
            branch(&[K::Email], string(&email(), 254)),
            branch(&[K::Phone, K::Whatsapp], json!({ "type": "string", "pattern": phone() })),
            branch(&[K::Telegram], json!({ "type": "string", "pattern": telegram() })),
            branch(&others, json!({ "type": "string", "pattern": other_id() })),
        ]
    })
}

/// The identity fields of a customer description; at least one must be given.
const IDENTITY_FIELDS: [&str; 9] = [
    "email",
    "phone",
    "telegram",
    "whatsapp",
    "vk",
    "facebook",
    "instagram",
    "viber",
    "external",
];

fn customer_in_rules(d: &mut Value) {
    let s = "/components/schemas/CustomerIn/properties";
    set(d, &format!("{s}/email"), nullable(string(&email(), 254)));
    for f in ["phone", "whatsapp"] {
        set(
            d,
            &format!("{s}/{f}"),
            nullable(json!({ "type": "string", "pattern": phone() })),
        );
    }
    set(
        d,
        &format!("{s}/telegram"),
        nullable(json!({ "type": "string", "pattern": telegram() })),
    );
    for f in ["vk", "facebook", "instagram", "viber", "external"] {
        set(
            d,
            &format!("{s}/{f}"),
            nullable(json!({ "type": "string", "pattern": other_id() })),
        );
    }
    // A blank name is ignored: the customer is then called by an identity.
    set(
        d,
        &format!("{s}/name"),
        nullable(json!({ "type": "string", "maxLength": 200 })),
    );
    set(
        d,
        &format!("{s}/language"),
        nullable(json!({ "type": "string", "pattern": language() })),
    );
    set(
        d,
        &format!("{s}/identities"),
        list(json!({ "$ref": "#/components/schemas/IdentityIo" }), 20),
    );
    let mut any: Vec<Value> = IDENTITY_FIELDS
        .iter()
        .map(|f| json!({ "required": [f], "properties": { *f: { "type": "string" } } }))
        .collect();
    any.push(
        json!({ "required": ["identities"], "properties": { "identities": { "minItems": 1 } } }),
    );
    set(d, "/components/schemas/CustomerIn/anyOf", Value::Array(any));
    set(
        d,
        "/components/schemas/CustomerIn/description",
        json!(
            "A customer described by name and identities (at least one); any identity finds an existing customer."
        ),
    );
}

fn field_rules(d: &mut Value) {
    use domain::fields::FieldType;
    let p = "/components/schemas/PatchFieldIn";
    set(d, &format!("{p}/properties/label"), line(200));
    set(
        d,
        &format!("{p}/properties/options"),
        json!({ "type": "array", "minItems": 1, "maxItems": 500, "uniqueItems": true, "items": line(200) }),
    );
    let s = "/components/schemas/CreateFieldIn";
    set(d, &format!("{s}/properties/label"), line(200));
    let others: Vec<&str> = FieldType::ALL
        .iter()
        .filter(|t| **t != FieldType::Dropdown)
        .map(|t| t.as_str())
        .collect();
    set(
        d,
        &format!("{s}/oneOf"),
        json!([
            {
                "required": ["options"],
                "properties": {
                    "field_type": { "const": "dropdown" },
                    "options": {
                        "type": "array", "minItems": 1, "maxItems": 500, "uniqueItems": true,
                        "items": line(200),
                    }
                }
            },
            {
                "properties": {
                    "field_type": enum_of(&others),
                    "options": { "type": "array", "maxItems": 0 }
                }
            }
        ]),
    );
}

fn ticket_rules(d: &mut Value) {
    use domain::ticket::{Channel, Priority, Status, Visibility};
    let statuses = names(Status::ALL, Status::as_str);
    let priorities = names(Priority::ALL, Priority::as_str);
    let channels = names(Channel::ALL, Channel::as_str);
    let tier = json!({ "type": ["integer", "null"], "minimum": 1, "maximum": 3 });
    set(
        d,
        "/components/schemas/EscalateIn/properties/reason",
        line(engine::escalation::MAX_REASON as u32),
    );
    set(
        d,
        "/components/schemas/EscalateIn/example",
        json!({ "reason": "Нужен специалист по возвратам", "team_id": null }),
    );
    let expert = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d01";
    for (name, example) in [
        ("CollaboratorIn", json!({ "user_id": expert })),
        ("CollaboratorList", json!({ "user_ids": [expert] })),
        ("FollowerIn", json!({ "user_id": expert })),
        ("FollowerList", json!({ "user_ids": [expert] })),
        ("SolutionIn", json!({ "solution": true })),
        (
            "SolutionList",
            json!({ "items": [{ "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d02", "number": 1042,
                "subject": "Не проходит оплата картой", "message_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d03",
                "text": "Отключить и снова включить 3-D Secure в приложении банка" }] }),
        ),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    let c = "/components/schemas/CreateTicketIn";
    set(d, &format!("{c}/properties/subject"), line(500));
    set(d, &format!("{c}/properties/tier"), tier.clone());
    set(
        d,
        &format!("{c}/properties/channel"),
        nullable(enum_of(&channels)),
    );
    set(
        d,
        &format!("{c}/properties/priority"),
        nullable(enum_of(&priorities)),
    );
    set(
        d,
        &format!("{c}/properties/tags"),
        list(string(&tag(), 200), 50),
    );
    set(
        d,
        &format!("{c}/properties/category"),
        nullable(json!({ "type": "string", "maxLength": 100 })),
    );
    set(
        d,
        &format!("{c}/properties/status"),
        nullable(enum_of(&statuses)),
    );
    set(
        d,
        &format!("{c}/properties/cc"),
        list(string(&email(), 254), 20),
    );
    set(
        d,
        &format!("{c}/oneOf"),
        json!([
            { "required": ["customer_id"], "properties": { "customer_id": { "type": "string" }, "customer": { "type": "null" } } },
            { "required": ["customer"], "properties": { "customer": { "type": "object" }, "customer_id": { "type": "null" } } }
        ]),
    );
    set(
        d,
        &format!("{c}/description"),
        json!(
            "A new ticket: its customer (customer_id, or a customer described by identities — one of the two) and first message."
        ),
    );
    let r = "/components/schemas/ReminderIn/properties";
    set(
        d,
        &format!("{r}/at"),
        json!({ "type": "string", "format": "date-time", "pattern": TIME }),
    );
    set(d, &format!("{r}/note"), line(500));
    let p = "/components/schemas/PatchTicketIn/properties";
    set(d, &format!("{p}/subject"), nullable(line(500)));
    set(
        d,
        &format!("{p}/snoozed_until"),
        json!({ "type": ["string", "null"], "format": "date-time", "pattern": TIME }),
    );
    set(d, &format!("{p}/tier"), tier);
    set(d, &format!("{p}/status"), nullable(enum_of(&statuses)));
    set(d, &format!("{p}/priority"), nullable(enum_of(&priorities)));
    set(
        d,
        &format!("{p}/tags"),
        nullable(list(string(&tag(), 200), 50)),
    );
    set(
        d,
        &format!("{p}/category"),
        nullable(json!({ "type": "string", "maxLength": 100 })),
    );
    set(
        d,
        &format!("{p}/cc"),
        nullable(list(string(&email(), 254), 20)),
    );
    let external = nullable(
        json!({ "type": "string", "minLength": 1, "maxLength": 998, "pattern": no_controls() }),
    );
    let m = "/components/schemas/CreateMessageIn/properties";
    set(d, &format!("{m}/status"), nullable(enum_of(&statuses)));
    set(
        d,
        &format!("{m}/visibility"),
        nullable(enum_of(&names(Visibility::ALL, Visibility::as_str))),
    );
    set(d, &format!("{m}/external_id"), external.clone());
    // The configured default (`limits`); a server configured lower refuses more.
    let attachments = json!({
        "type": "array", "maxItems": engine::Limits::default().max_attachments_per_message,
        "items": { "type": "string", "format": "uuid" }
    });
    set(d, &format!("{m}/attachments"), attachments.clone());
    set(
        d,
        "/components/schemas/BodyIn/properties/attachments",
        attachments,
    );
    set(
        d,
        "/components/schemas/BodyIn/properties/external_id",
        external,
    );
    // Text that is only spaces or control characters is no text.
    let something = json!([
        { "required": ["body"], "properties": { "body": { "type": "string", "pattern": format!("[^{WS}{CC}]") } } },
        { "required": ["html"], "properties": { "html": { "type": "string", "pattern": format!("[^{WS}]") } } },
        { "required": ["attachments"], "properties": { "attachments": { "minItems": 1 } } }
    ]);
    set(d, "/components/schemas/BodyIn/anyOf", something.clone());
    // A customer's message is public: `author: customer` with `internal` is refused.
    set(
        d,
        "/components/schemas/CreateMessageIn/allOf",
        json!([
            { "anyOf": something },
            { "anyOf": [
                { "properties": { "author": { "enum": ["agent"] } } },
                { "properties": { "visibility": { "enum": ["public", null] } } }
            ] }
        ]),
    );
    for s in ["BodyIn", "CreateMessageIn"] {
        set(
            d,
            &format!("/components/schemas/{s}/description"),
            json!(
                "A message: text, HTML (sanitised; its text is derived when no text is given), attachments, or any of them together; not nothing."
            ),
        );
    }
}

fn people_rules(d: &mut Value) {
    use domain::user::Role;
    let roles = names(Role::ALL, Role::as_str);
    let tier = json!({ "type": ["integer", "null"], "minimum": 1, "maximum": 3 });
    let capacity = json!({ "type": ["integer", "null"], "minimum": 0, "maximum": 1000 });
    let languages = list(json!({ "type": "string", "pattern": language() }), 20);
    let skills = list(string(&tag(), 200), 50);
    let password = json!({ "type": "string", "minLength": 8, "maxLength": 256 });
    let u = "/components/schemas/CreateUserIn/properties";
    set(d, &format!("{u}/email"), string(&email(), 254));
    set(d, &format!("{u}/name"), nullable(line(200)));
    set(d, &format!("{u}/role"), nullable(enum_of(&roles)));
    set(d, &format!("{u}/password"), nullable(password.clone()));
    set(d, &format!("{u}/tier"), tier.clone());
    set(d, &format!("{u}/capacity"), capacity.clone());
    set(d, &format!("{u}/languages"), languages.clone());
    set(d, &format!("{u}/skills"), skills.clone());
    let u = "/components/schemas/PatchUserIn/properties";
    set(d, &format!("{u}/name"), nullable(line(200)));
    set(d, &format!("{u}/role"), nullable(enum_of(&roles)));
    set(d, &format!("{u}/tier"), tier.clone());
    set(d, &format!("{u}/capacity"), capacity);
    set(d, &format!("{u}/languages"), nullable(languages));
    set(d, &format!("{u}/skills"), nullable(skills));
    set(
        d,
        &format!("{u}/presence"),
        nullable(enum_of(&["online", "away", "busy", "offline"])),
    );
    for t in ["CreateTeamIn", "PatchTeamIn"] {
        let name = if t == "CreateTeamIn" {
            line(100)
        } else {
            nullable(line(100))
        };
        set(d, &format!("/components/schemas/{t}/properties/name"), name);
        set(
            d,
            &format!("/components/schemas/{t}/properties/tier"),
            tier.clone(),
        );
        let routing = names(
            domain::routing::RoutingMode::ALL,
            domain::routing::RoutingMode::as_str,
        );
        set(
            d,
            &format!("/components/schemas/{t}/properties/routing"),
            nullable(enum_of(&routing)),
        );
        set(
            d,
            &format!("/components/schemas/{t}/properties/reroute_after_s"),
            json!({ "type": ["integer", "null"], "minimum": 0, "maximum": 604800 }),
        );
    }
    let channels = names(
        domain::ticket::Channel::ALL,
        domain::ticket::Channel::as_str,
    );
    let per_channel = json!({
        "type": "object",
        "propertyNames": { "enum": channels },
        "additionalProperties": { "type": "integer", "minimum": 0, "maximum": 1000 },
    });
    set(
        d,
        "/components/schemas/CreateUserIn/properties/channel_capacity",
        per_channel.clone(),
    );
    set(
        d,
        "/components/schemas/PatchUserIn/properties/channel_capacity",
        nullable(per_channel),
    );
    set(
        d,
        "/components/schemas/CreateTokenIn/properties/name",
        line(100),
    );
    let w = "/components/schemas/PatchWorkspaceIn/properties";
    set(d, &format!("{w}/display_name"), nullable(line(200)));
    set(
        d,
        &format!("{w}/default_language"),
        nullable(json!({ "type": "string", "pattern": language() })),
    );
    set(
        d,
        &format!("{w}/time_zone"),
        nullable(string(TIME_ZONE, 64)),
    );
    let p = "/components/schemas/PasswordIn/properties";
    set(d, &format!("{p}/new_password"), password);
    let domains = list(string(domain::org::DOMAIN_PATTERN, 253), 20);
    for (schema, required) in [("NewOrganizationIn", true), ("OrganizationIn", false)] {
        let o = format!("/components/schemas/{schema}/properties");
        let name = if required {
            line(200)
        } else {
            nullable(line(200))
        };
        set(d, &format!("{o}/name"), name);
        set(d, &format!("{o}/domains"), nullable(domains.clone()));
        set(
            d,
            &format!("{o}/notes"),
            nullable(json!({ "type": "string", "maxLength": 10000 })),
        );
    }
    let pr = "/components/schemas/PreferencesIn/properties";
    set(
        d,
        &format!("{pr}/time_zone"),
        nullable(string(TIME_ZONE, 64)),
    );
    set(
        d,
        &format!("{pr}/signature"),
        nullable(json!({ "type": "string", "maxLength": 2000 })),
    );
    let c = "/components/schemas/PatchCustomerIn/properties";
    set(d, &format!("{c}/name"), nullable(line(200)));
    set(
        d,
        &format!("{c}/tags"),
        nullable(list(string(&tag(), 200), 50)),
    );
    set(
        d,
        &format!("{c}/language"),
        nullable(json!({ "type": "string", "pattern": language() })),
    );
    set(
        d,
        &format!("{c}/notes"),
        nullable(json!({ "type": "string", "maxLength": 10000 })),
    );
    set(
        d,
        &format!("{c}/identities"),
        list(json!({ "$ref": "#/components/schemas/IdentityIo" }), 20),
    );
    set(d, "/components/schemas/IdentityIo", identity_schema());
    let h = "/components/schemas/HeldCustomer/properties";
    set(d, &format!("{h}/email"), string(&email(), 254));
    set(
        d,
        &format!("{h}/name"),
        nullable(json!({ "type": "string", "maxLength": 200 })),
    );
}

/// The mailbox documents, which `engine::email` defines without schema types.
fn mailbox_rules(d: &mut Value) {
    let tls = enum_of(&["implicit", "starttls", "none"]);
    let text = |max: u32| {
        nullable(json!({ "type": "string", "maxLength": max, "pattern": no_controls() }))
    };
    let port = json!({ "type": ["integer", "null"], "minimum": 0, "maximum": 65535 });
    let imap = json!({
        "type": "object", "additionalProperties": false,
        "required": ["kind", "host", "username", "password"],
        "properties": {
            "kind": { "const": "imap" },
            "host": { "type": "string", "minLength": 1, "maxLength": 253, "pattern": HOST },
            "port": port,
            "tls": nullable(tls.clone()),
            "username": { "type": "string", "minLength": 1, "maxLength": 320, "pattern": no_controls() },
            "folder": text(200),
            "password": { "type": "string", "maxLength": 1000, "pattern": no_controls() },
        }
    });
    let other = json!({
        "type": "object", "additionalProperties": false,
        "required": ["kind"],
        "properties": {
            "kind": enum_of(&["smtp", "pipe"]),
            "port": port,
            "tls": nullable(tls.clone()),
            "folder": text(200),
        }
    });
    let outbound = json!({
        "type": "object", "additionalProperties": false,
        "required": ["host", "port", "tls"],
        "properties": {
            "host": { "type": "string", "minLength": 1, "maxLength": 253, "pattern": HOST },
            "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
            "tls": tls,
            "username": text(320),
            "from_name": text(100),
            "password": text(1000),
        }
    });
    let per_language = |text: Value| {
        json!({
            "type": "object",
            "propertyNames": { "enum": ["en", "ru", "th"] },
            "additionalProperties": text,
        })
    };
    let settings = json!({
        "type": "object",
        "properties": {
            "auto_ack": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "enabled": { "type": "boolean" },
                    "response_time": per_language(json!({ "type": "string", "maxLength": 200, "pattern": no_controls() })),
                    "templates": per_language(json!({ "type": "string", "maxLength": 4000 })),
                }
            },
            "reply_address_token": { "type": "boolean" },
        }
    });
    let local = format!("[^@+{WS}{CC}<>\",;]");
    let domain_part = format!("[^@.{WS}{CC}<>\",;]");
    let address = format!("^{local}{{1,64}}@{domain_part}+(\\.{domain_part}+)+$");
    let schemas = "/components/schemas";
    set(
        d,
        &format!("{schemas}/MailboxIn"),
        json!({
            "type": "object", "additionalProperties": false,
            "description": "A mailbox: its support address, how mail comes in (IMAP, the built-in SMTP receiver, or an MTA pipe) and how replies leave (SMTP). Passwords are write-only.",
            "required": ["name", "address", "inbound"],
            "properties": {
                "name": line(100),
                "address": { "type": "string", "maxLength": 254, "pattern": address,
                    "description": "The support address; no '+' before the @ (reply tokens use it)" },
                "inbound": { "oneOf": [imap, other] },
                "outbound": nullable(outbound),
                "settings": nullable(settings.clone()),
                "active": { "type": ["boolean", "null"] },
            },
            "example": {
                "name": "Support", "address": "support@example.com",
                "inbound": { "kind": "imap", "host": "imap.example.com", "port": 993, "tls": "implicit", "username": "support@example.com", "password": "secret" },
                "outbound": { "host": "smtp.example.com", "port": 587, "tls": "starttls", "username": "support@example.com", "password": "secret" }
            }
        }),
    );
    set(
        d,
        &format!("{schemas}/Mailbox"),
        json!({
            "type": "object",
            "required": ["id", "name", "address", "inbound", "inbound_password_set", "outbound_password_set", "settings", "active", "created_at", "updated_at"],
            "properties": {
                "id": { "type": "string", "format": "uuid" },
                "name": { "type": "string" },
                "address": { "type": "string" },
                "inbound": { "type": "object", "required": ["kind"] },
                "inbound_password_set": { "type": "boolean" },
                "outbound": { "type": ["object", "null"] },
                "outbound_password_set": { "type": "boolean" },
                "settings": settings,
                "active": { "type": "boolean" },
                "connection": {
                    "description": "How the last attempts to read the mailbox went (IMAP only)",
                    "type": ["object", "null"],
                    "properties": {
                        "connected": { "type": "boolean" },
                        "last_error": { "type": ["string", "null"] },
                        "last_error_at": { "type": ["string", "null"] },
                        "last_success_at": { "type": ["string", "null"] },
                    }
                },
                "created_at": { "type": "string" },
                "updated_at": { "type": "string" },
            }
        }),
    );
    set(
        d,
        &format!("{schemas}/MailboxList"),
        json!({
            "type": "object", "required": ["items"],
            "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/Mailbox" } } }
        }),
    );
    set(
        d,
        &format!("{schemas}/InboundOutcome"),
        json!({
            "type": "object", "required": ["outcome"],
            "properties": {
                "ticket_id": { "type": ["string", "null"], "format": "uuid" },
                "message_id": { "type": ["string", "null"], "format": "uuid" },
                "duplicate": { "type": "boolean" },
                "outcome": { "type": "string" },
            }
        }),
    );
    let json_body = |schema: &str| json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } });
    let paths = "/paths/~1api~1v1~1channels~1email";
    set(
        d,
        &format!("{paths}/post/requestBody/content"),
        json_body("MailboxIn"),
    );
    set(
        d,
        &format!("{paths}/post/responses/201/content"),
        json_body("Mailbox"),
    );
    set(
        d,
        &format!("{paths}/get/responses/200/content"),
        json_body("MailboxList"),
    );
    let one = format!("{paths}~1{{id}}");
    set(
        d,
        &format!("{one}/get/responses/200/content"),
        json_body("Mailbox"),
    );
    set(
        d,
        &format!("{one}/patch/responses/200/content"),
        json_body("Mailbox"),
    );
    set(
        d,
        &format!("{one}/patch/requestBody/content/application~1json/schema"),
        json!({
            "type": "object",
            "description": "A JSON merge patch (RFC 7396) of the mailbox; the result must be a valid mailbox. A password left out is kept.",
            "properties": {
                "name": line(100),
                "active": { "type": ["boolean", "null"] },
            },
            "additionalProperties": false,
        }),
    );
    set(
        d,
        &format!("{one}~1inbound/post/responses/202/content"),
        json_body("InboundOutcome"),
    );
    // Any bytes are a message (one without a sender is held), so the body has no
    // type to get wrong; it only may not be empty or blank.
    set(
        d,
        &format!("{one}~1inbound/post/requestBody/required"),
        json!(true),
    );
    set(
        d,
        &format!("{one}~1inbound/post/requestBody/content/message~1rfc822/schema"),
        json!({ "minLength": 1, "pattern": "[^\t\n\x0c\r ]", "description": "The raw message, as an MTA pipe transport delivers it" }),
    );
}

fn attachment_rules(d: &mut Value) {
    let p = "/paths/~1api~1v1~1attachments";
    set(
        d,
        &format!("{p}/post/requestBody/content/multipart~1form-data/schema"),
        json!({
            "type": "object",
            "required": ["file"],
            "additionalProperties": false,
            "properties": { "file": { "type": "string", "format": "binary", "description": "The file; its part's filename and Content-Type are kept" } }
        }),
    );
    set(d, &format!("{p}/post/requestBody/required"), json!(true));
    set(
        d,
        &format!("{p}~1{{id}}/get/responses/200/content"),
        json!({ "*/*": { "schema": { "type": "string", "format": "binary" } } }),
    );
    let w = "/paths/~1widget~1v1~1{key}~1files";
    set(
        d,
        &format!("{w}/post/requestBody/content/multipart~1form-data/schema"),
        json!({
            "type": "object",
            "required": ["client_id", "file"],
            "additionalProperties": false,
            "properties": {
                "client_id": { "type": "string", "maxLength": 100, "pattern": other_id() },
                "text": { "type": "string", "maxLength": domain::chat::MAX_MESSAGE },
                "file": { "type": "string", "format": "binary", "description": "The file; its part's filename and Content-Type are kept" }
            }
        }),
    );
    set(d, &format!("{w}/post/requestBody/required"), json!(true));
    set(
        d,
        &format!("{w}~1{{id}}/get/responses/200/content"),
        json!({ "*/*": { "schema": { "type": "string", "format": "binary" } } }),
    );
}

/// A comma-separated list of some of `values`, blanks ignored, as the ticket
/// filters read it.
fn csv_of(values: &[&str]) -> String {
    let item = format!("[{WS}]*({})?[{WS}]*", values.join("|"));
    format!("^{item}(,{item})*$")
}

/// A UUID, hyphenated or as 32 digits.
const UUID: &str =
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32}";

fn query_rules(d: &mut Value) {
    use domain::ticket::{Channel, Priority, Status};
    if let Some(params) = d
        .pointer_mut("/paths/~1api~1v1~1kb~1articles/get/parameters")
        .and_then(Value::as_array_mut)
        && let Some(p) = params.iter_mut().find(|p| p["name"] == "status")
    {
        p["schema"] = json!({ "type": "string", "pattern": "^(draft|published)?$" });
    } else {
        MISSED.with(|m| m.borrow_mut().push("GET /api/v1/kb/articles status".into()));
    }
    let rules = [
        ("status", csv_of(&names(Status::ALL, Status::as_str))),
        ("priority", csv_of(&names(Priority::ALL, Priority::as_str))),
        ("channel", csv_of(&names(Channel::ALL, Channel::as_str))),
        ("assignee_id", format!("^(none|{UUID})?$")),
        ("team_id", format!("^(none|{UUID})?$")),
    ];
    let Some(params) = d
        .pointer_mut("/paths/~1api~1v1~1tickets/get/parameters")
        .and_then(Value::as_array_mut)
    else {
        MISSED.with(|m| m.borrow_mut().push("GET /api/v1/tickets parameters".into()));
        return;
    };
    for (name, pattern) in rules {
        match params.iter_mut().find(|p| p["name"] == name) {
            Some(p) => p["schema"] = json!({ "type": "string", "pattern": pattern }),
            None => MISSED.with(|m| m.borrow_mut().push(format!("GET /api/v1/tickets {name}"))),
        }
    }
}

/// Operations anyone may call: signing in (the document's default is a bearer
/// token or a session).
fn public_operations(d: &mut Value) {
    // Meta's subscription check carries its own token in the query.
    set(d, "/paths/~1hooks~1whatsapp~1{id}/get/security", json!([]));
    // VK puts the community's secret key in the body.
    set(d, "/paths/~1hooks~1vk~1{id}/post/security", json!([]));
    set(d, "/paths/~1api~1v1~1auth~1login/post/security", json!([]));
    set(
        d,
        "/paths/~1api~1v1~1help~1{workspace}~1search/get/security",
        json!([]),
    );
    // A widget's look and a new visitor: anyone on an allowed site.
    set(
        d,
        "/paths/~1widget~1v1~1{key}~1config/get/security",
        json!([]),
    );
    set(
        d,
        "/paths/~1widget~1v1~1{key}~1visitors/post/security",
        json!([]),
    );
}

fn header_rules(d: &mut Value) {
    let Some(paths) = d.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in params {
                if p["in"] == "header" && p["name"] == "Idempotency-Key" {
                    p["schema"] = json!({ "type": "string", "pattern": IDEMPOTENCY_KEY });
                }
                // Unix seconds: a header of anything else would be no header a
                // client can send.
                if p["in"] == "header" && p["name"] == "X-Otklik-Timestamp" {
                    p["schema"] =
                        json!({ "type": "string", "maxLength": 12, "pattern": "^[0-9]{1,12}$" });
                }
            }
        }
    }
}

/// An example of every request and response document, for the reader and for
/// schema-driven clients (schemathesis sends the request examples first).
fn examples(d: &mut Value) {
    let ws = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a10";
    let user = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a11";
    let team = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a12";
    let customer = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a13";
    let ticket = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a14";
    let message = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a15";
    let attachment = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a16";
    let token = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a17";
    let field = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a18";
    let held = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a19";
    let at = "2026-11-30T09:15:02.412Z";
    let user_out = json!({
        "id": user, "email": "anna@shop.example", "name": "Анна Петрова", "role": "agent", "tier": 1,
        "languages": ["ru", "en"], "skills": ["billing"], "capacity": 10, "presence": "online",
        "active": true, "team_ids": [team], "created_at": at, "updated_at": at
    });
    let team_out =
        json!({ "id": team, "name": "Billing", "tier": 1, "created_at": at, "updated_at": at });
    let customer_out = json!({
        "id": customer, "name": "Somchai Jaidee", "language": "th", "notes": "", "merged_into": null,
        "identities": [
            { "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a20", "kind": "email", "value": "somchai@example.co.th", "verified": true, "shared": false, "created_at": at },
            { "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a21", "kind": "phone", "value": "+66812345678", "verified": true, "shared": false, "created_at": at }],
        "tags": ["vip"], "outreach_opt_out": false, "at_risk_since": null, "erased_at": null, "created_at": at, "updated_at": at
    });
    let ticket_out = json!({
        "id": ticket, "number": 1042, "subject": "Где мой заказ?", "status": "open", "priority": "normal",
        "channel": "email", "customer_id": customer, "assignee_id": user, "team_id": team, "tier": 1,
        "category": "delivery", "tags": ["order"], "custom_fields": { "order_number": 58211 },
        "follow_up_of": null, "account_id": null, "cc": [], "created_at": at, "updated_at": at,
        "solved_at": null, "closed_at": null, "snoozed_until": null, "merged_into": null
    });
    let attachment_out = json!({
        "id": attachment, "filename": "receipt.pdf", "content_type": "application/pdf", "size": 48213,
        "sha256": "9f2b5c0e3d1a47b8c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3",
        "message_id": message, "created_at": at
    });
    let message_out = json!({
        "id": message, "ticket_id": ticket, "visibility": "public",
        "author": { "kind": "customer", "customer_id": customer, "user_id": null },
        "channel": "email", "body": "Здравствуйте! Заказ 58211 так и не пришёл.", "html": null,
        "attachments": [attachment_out.clone()], "external_id": "CAF3x9@mail.example", "account_id": null,
        "delivery": null, "folded_from": null, "created_at": at
    });
    let event_out = json!({
        "id": "5f0c2a9e41d7b3c86e1f0a4d9b2c7e13", "cursor": "a31e94c07b5d2f6e8c1a0b9d4e7f3c25",
        "kind": "ticket.created", "ticket_id": ticket, "customer_id": customer,
        "actor": { "kind": "customer", "id": customer },
        "data": { "ticket_id": ticket, "number": 1042, "channel": "email" }, "created_at": at
    });
    let token_out = json!({ "id": token, "user_id": user, "name": "CRM sync", "created_at": at, "last_used_at": null, "revoked_at": null });
    let field_out = json!({ "id": field, "key": "order_number", "label": "Order number", "field_type": "number", "options": [], "required": false, "position": 0, "archived": false, "created_at": at });
    let workspace_out = json!({ "id": ws, "name": "shop", "display_name": "Shop support", "default_language": "ru", "time_zone": "Europe/Moscow", "created_at": at });
    let mut created_ticket = ticket_out.clone();
    created_ticket["message"] = message_out.clone();
    created_ticket["duplicate"] = json!(false);
    let mut posted = message_out.clone();
    posted["ticket"] = ticket_out.clone();
    posted["duplicate"] = json!(false);
    let mut created_token = token_out.clone();
    created_token["secret"] = json!("otk_3q2+7w…shown once");
    let page = |item: &Value| json!({ "items": [item], "next_cursor": null });
    let article = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a1a";
    let group = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a1b";
    let faq = "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a1c";
    let article_out = json!({
        "id": article, "group_id": group, "lang": "ru", "title": "Обмен и возврат",
        "body": "Вернуть товар можно в течение 14 дней…", "category": "returns", "slug": "обмен-и-возврат",
        "status": "published", "visibility": "public", "version": 3, "published_version": 3,
        "created_at": at, "updated_at": at
    });
    let faq_out = json!({
        "id": faq, "group_id": group, "lang": "ru", "question": "Где мой заказ?",
        "phrasings": ["Как отследить заказ"], "answer": "Откройте «Мои заказы» и нажмите «Отследить».",
        "article_id": null, "created_at": at, "updated_at": at
    });
    let version_out = json!({ "version": 3, "title": "Обмен и возврат", "body": "Вернуть товар можно в течение 14 дней…", "author_id": user, "created_at": at });
    let hit = json!({ "kind": "article", "id": article, "group_id": group, "lang": "ru", "title": "Обмен и возврат",
        "snippet": "<mark>Вернуть</mark> товар можно в течение 14 дней", "score": 7.31, "url": "/help/shop/ru/articles/01936f1e-7b2a-7c41-9a55-0d3c7e2b9a1a-обмен-и-возврат" });
    let article_stats = json!({ "id": article, "title": "Обмен и возврат", "lang": "ru", "views": 412, "helpful": 37, "unhelpful": 5 });
    let search_stats =
        json!({ "lang": "ru", "query": "вернуть деньги", "searches": 58, "empty": 0 });
    let gap = json!({ "lang": "ru", "query": "рассрочка на телевизор", "searches": 9, "empty": 9 });
    let comment = json!({ "article_id": article, "title": "Обмен и возврат", "helpful": false, "comment": "Не сказано, как вернуть товар без чека", "created_at": at });
    let kb_examples: [(&str, Value); 17] = [
        (
            "HelpSettingsIo",
            json!({ "color": "#0b7a75", "logo_id": null, "languages": ["ru", "en", "th", "de"] }),
        ),
        (
            "PatchFaqIn",
            json!({ "phrasings": ["Где посылка", "Как отследить заказ", "Когда привезут"], "answer": "Откройте «Мои заказы» и нажмите «Отследить»." }),
        ),
        ("ArticleStatsOut", article_stats.clone()),
        ("SearchStatsOut", search_stats.clone()),
        ("CommentOut", comment.clone()),
        (
            "KbAnalytics",
            json!({ "from": "2026-10-31", "to": "2026-11-29", "articles": [article_stats], "searches": [search_stats],
                    "no_results": [gap], "comments": [comment] }),
        ),
        ("ArticleOut", article_out.clone()),
        (
            "ArticlePage",
            json!({ "items": [article_out], "next_cursor": null }),
        ),
        ("VersionOut", version_out.clone()),
        ("VersionList", json!({ "items": [version_out] })),
        ("FaqOut", faq_out.clone()),
        (
            "FaqPage",
            json!({ "items": [faq_out], "next_cursor": null }),
        ),
        ("KbHitOut", hit.clone()),
        ("KbHits", json!({ "items": [hit] })),
        (
            "CreateArticleIn",
            json!({ "lang": "ru", "title": "Обмен и возврат", "body": "Вернуть товар можно в течение **14 дней**.", "category": "returns", "status": "published", "visibility": "public", "group_id": null }),
        ),
        (
            "PatchArticleIn",
            json!({ "body": "Вернуть товар можно в течение **30 дней**.", "status": "published" }),
        ),
        (
            "CreateFaqIn",
            json!({ "lang": "ru", "question": "Где мой заказ?", "phrasings": ["Как отследить заказ", "Когда привезут заказ"], "answer": "Откройте «Мои заказы» и нажмите «Отследить».", "category": "delivery", "article_id": null, "group_id": null }),
        ),
    ];
    for (name, example) in kb_examples {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    let list: [(&str, Value); 66] = [
        ("UserOut", user_out.clone()),
        ("TeamOut", team_out.clone()),
        ("CustomerOut", customer_out.clone()),
        ("TicketOut", ticket_out.clone()),
        ("MessageOut", message_out.clone()),
        ("AttachmentOut", attachment_out),
        ("EventOut", event_out.clone()),
        ("TokenOut", token_out.clone()),
        ("FieldOut", field_out.clone()),
        ("WorkspaceOut", workspace_out.clone()),
        ("CreatedTicketOut", created_ticket),
        ("PostedMessageOut", posted),
        ("CreatedTokenOut", created_token),
        (
            "MeOut",
            json!({ "user": user_out.clone(), "workspace": workspace_out, "csrf_token": null }),
        ),
        (
            "LoginOut",
            json!({ "csrf_token": "k3J9c0xY2vQ…", "expires_at": at, "user_id": user, "workspace_id": ws }),
        ),
        ("Page_UserOut", page(&user_out)),
        ("Page_TeamOut", page(&team_out)),
        ("Page_CustomerOut", page(&customer_out)),
        ("Page_TicketOut", page(&ticket_out)),
        ("Page_MessageOut", page(&message_out)),
        (
            "Page_EventOut",
            json!({ "items": [event_out], "next_cursor": "a31e94c07b5d2f6e8c1a0b9d4e7f3c25" }),
        ),
        ("Page_TokenOut", page(&token_out)),
        ("Page_FieldOut", page(&field_out)),
        (
            "HeldOut",
            json!({ "id": held, "message_id": "<b7c1@relay.example>", "subject": "Re: заказ", "received_at": at, "reason": "no_sender" }),
        ),
        (
            "HeldList",
            json!({ "items": [{ "id": held, "message_id": "<b7c1@relay.example>", "subject": "Re: заказ", "received_at": at, "reason": "no_sender" }] }),
        ),
        (
            "Problem",
            json!({ "type": "urn:otklik:problem:validation", "title": "Unprocessable Entity", "status": 422, "detail": "customer.email: \"anna@\" is not an e-mail address", "errors": { "customer.email": "\"anna@\" is not an e-mail address" }, "request_id": "9b1f0c4e-2d7a-4f3b-8e6c-5a9d0b1c2e3f" }),
        ),
        (
            "Mailbox",
            json!({
                "id": held, "name": "Support", "address": "support@shop.example",
                "inbound": { "kind": "imap", "host": "imap.shop.example", "port": 993, "tls": "implicit", "username": "support@shop.example" },
                "inbound_password_set": true,
                "outbound": { "host": "smtp.shop.example", "port": 587, "tls": "starttls", "username": "support@shop.example" },
                "outbound_password_set": true,
                "settings": { "auto_ack": { "enabled": true }, "reply_address_token": true }, "active": true,
                "connection": { "connected": true, "last_error": null, "last_error_at": null, "last_success_at": at },
                "created_at": at, "updated_at": at
            }),
        ),
        ("MailboxList", json!({ "items": [] })),
        (
            "InboundOutcome",
            json!({ "ticket_id": ticket, "message_id": message, "duplicate": false, "outcome": "ticket" }),
        ),
        (
            "CreateUserIn",
            json!({ "email": "boris@shop.example", "name": "Борис", "role": "agent", "password": "a-long-passphrase", "languages": ["ru"], "team_ids": [] }),
        ),
        ("PatchUserIn", json!({ "presence": "away", "capacity": 8 })),
        ("CreateTeamIn", json!({ "name": "Returns", "tier": 2 })),
        ("PatchTeamIn", json!({ "name": "Returns and exchanges" })),
        (
            "CustomerIn",
            json!({ "name": "Somchai Jaidee", "email": "somchai@example.co.th", "phone": "+66 81 234 5678", "language": "th" }),
        ),
        (
            "PatchCustomerIn",
            json!({ "notes": "Prefers LINE in the evening", "identities": [{ "kind": "telegram", "value": "@somchai" }] }),
        ),
        ("MergeIn", json!({ "source_id": customer })),
        ("IdentityPatchIn", json!({ "shared": true })),
        (
            "SuggestionList",
            json!({ "items": [{ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a22", "customer_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a23",
                "name": "สมชาย", "reason": "names_differ", "identity": { "kind": "whatsapp", "value": "+66812345678" }, "created_at": at }] }),
        ),
        (
            "CreateTicketIn",
            json!({ "subject": "Где мой заказ?", "channel": "api", "customer": { "name": "Анна", "email": "anna@example.ru" }, "message": { "body": "Заказ 58211 не пришёл." }, "tags": ["order"] }),
        ),
        ("FirstAuthor", json!("agent")),
        ("UiLanguage", json!("th")),
        (
            "PreferencesIn",
            json!({ "language": "th", "time_zone": "Asia/Bangkok", "signature": "สมศรี — ฝ่ายบริการลูกค้า", "notify": { "desktop": false } }),
        ),
        ("NotifyIn", json!({ "mentioned": true, "desktop": false })),
        (
            "PreferencesOut",
            json!({ "language": "th", "time_zone": "Asia/Bangkok", "signature": "สมศรี — ฝ่ายบริการลูกค้า",
                    "notify": { "replied": true, "assigned": true, "mentioned": true, "reminders": true, "desktop": false, "reports": true } }),
        ),
        (
            "NotifyOut",
            json!({ "replied": true, "assigned": true, "mentioned": true, "reminders": true, "desktop": false, "reports": true }),
        ),
        (
            "NewOrganizationIn",
            json!({ "name": "ООО «Ромашка»", "domains": ["romashka.ru"], "notes": "Оптовый клиент", "custom_fields": { "contract": "gold" } }),
        ),
        (
            "OrganizationIn",
            json!({ "domains": ["romashka.ru", "romashka.com"] }),
        ),
        (
            "OrganizationOut",
            json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a40", "name": "ООО «Ромашка»", "domains": ["romashka.ru"],
                    "notes": "Оптовый клиент", "custom_fields": { "contract": "gold" }, "customers": 12,
                    "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-28T12:30:00Z" }),
        ),
        (
            "Page_OrganizationOut",
            json!({ "items": [{ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a40", "name": "ООО «Ромашка»", "domains": ["romashka.ru"],
                    "notes": "", "custom_fields": {}, "customers": 12,
                    "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-28T12:30:00Z" }], "next_cursor": "ооо «ромашка»" }),
        ),
        (
            "OrganizationSaved",
            json!({ "organization": { "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a40", "name": "ООО «Ромашка»", "domains": ["romashka.ru"],
                    "notes": "", "custom_fields": {}, "customers": 0,
                    "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:00:00Z" }, "linked_customers": 12 }),
        ),
        (
            "PatchTicketIn",
            json!({ "status": "pending", "priority": "high", "tags": ["order", "vip"] }),
        ),
        (
            "CreateMessageIn",
            json!({ "body": "Проверили: заказ передан курьеру, будет завтра.", "visibility": "public", "status": "pending" }),
        ),
        ("BodyIn", json!({ "body": "Заказ 58211 не пришёл." })),
        ("CreateTokenIn", json!({ "name": "CRM sync" })),
        ("MergeTicketIn", json!({ "into": "1041" })),
        (
            "SplitTicketIn",
            json!({ "message_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a31" }),
        ),
        (
            "ReminderIn",
            json!({ "at": "2026-12-02T06:00:00Z", "note": "Позвонить клиенту про возврат" }),
        ),
        (
            "ReminderOut",
            json!({ "id": "01935f2a-7c1e-7d3a-9b2c-5e8f1a2b3c4d", "ticket_id": ticket, "due_at": "2026-12-02T06:00:00.000Z", "note": "Позвонить клиенту про возврат", "created_at": at }),
        ),
        (
            "Page_ReminderOut",
            json!({ "items": [{ "id": "01935f2a-7c1e-7d3a-9b2c-5e8f1a2b3c4d", "ticket_id": ticket, "due_at": "2026-12-02T06:00:00.000Z", "note": "Позвонить клиенту про возврат", "created_at": at }], "next_cursor": null }),
        ),
        (
            "PatchFieldIn",
            json!({ "label": "Return reason", "required": true, "position": 2 }),
        ),
        (
            "CreateFieldIn",
            json!({ "key": "reason", "label": "Reason", "field_type": "dropdown", "options": ["late", "damaged"], "required": false }),
        ),
        (
            "LoginIn",
            json!({ "workspace": "shop", "email": "anna@shop.example", "password": "a-long-passphrase", "remember": true }),
        ),
        (
            "PasswordIn",
            json!({ "current_password": "a-long-passphrase", "new_password": "another-long-passphrase" }),
        ),
        (
            "PatchWorkspaceIn",
            json!({ "display_name": "Shop support", "time_zone": "Asia/Bangkok" }),
        ),
        (
            "HeldTicketIn",
            json!({ "customer": { "email": "somchai@example.co.th", "name": "Somchai" } }),
        ),
        (
            "HeldCustomer",
            json!({ "email": "somchai@example.co.th", "name": "Somchai" }),
        ),
    ];
    for (name, example) in list {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    set(
        d,
        "/paths/~1api~1v1~1channels~1email~1{id}~1inbound/post/requestBody/content/message~1rfc822/example",
        json!(
            "From: Anna <anna@example.ru>\r\nTo: support@shop.example\r\nSubject: =?UTF-8?B?0JPQtNC1INC80L7QuSDQt9Cw0LrQsNC3Pw==?=\r\nMessage-ID: <CAF3x9@mail.example>\r\n\r\nHello!\r\n"
        ),
    );
    set(
        d,
        "/paths/~1api~1v1~1channels~1email~1{id}/patch/requestBody/content/application~1json/example",
        json!({ "active": false }),
    );
}

/// The knowledge base's input rules (`engine::kb`).
fn kb_rules(d: &mut Value) {
    let lang = json!({ "type": "string", "pattern": language() });
    let key = nullable(
        json!({ "type": "string", "pattern": format!("^[{WS}]*([a-z][a-z0-9-]{{0,63}})?[{WS}]*$") }),
    );
    let status = nullable(enum_of(&names(
        domain::kb::ArticleStatus::ALL,
        domain::kb::ArticleStatus::as_str,
    )));
    let visibility = nullable(enum_of(&names(
        domain::kb::Visibility::ALL,
        domain::kb::Visibility::as_str,
    )));
    let body = json!({ "type": "string", "maxLength": engine::kb::MAX_BODY_CHARS });
    let a = "/components/schemas/CreateArticleIn/properties";
    set(d, &format!("{a}/lang"), lang.clone());
    set(d, &format!("{a}/title"), line(200));
    set(d, &format!("{a}/body"), body.clone());
    set(d, &format!("{a}/category"), key.clone());
    set(d, &format!("{a}/status"), status.clone());
    set(d, &format!("{a}/visibility"), visibility.clone());
    let a = "/components/schemas/PatchArticleIn/properties";
    set(d, &format!("{a}/title"), nullable(line(200)));
    set(d, &format!("{a}/body"), nullable(body.clone()));
    set(d, &format!("{a}/category"), key.clone());
    set(d, &format!("{a}/status"), status);
    set(d, &format!("{a}/visibility"), visibility);
    let f = "/components/schemas/CreateFaqIn/properties";
    set(d, &format!("{f}/lang"), lang.clone());
    set(d, &format!("{f}/question"), line(300));
    set(d, &format!("{f}/phrasings"), list(line(300), 50));
    set(
        d,
        &format!("{f}/answer"),
        json!({ "type": "string", "maxLength": engine::kb::MAX_BODY_CHARS, "pattern": format!("[^{WS}{CC}]") }),
    );
    set(d, &format!("{f}/category"), key.clone());
    let f = "/components/schemas/PatchFaqIn/properties";
    set(d, &format!("{f}/question"), nullable(line(300)));
    set(d, &format!("{f}/phrasings"), nullable(list(line(300), 50)));
    set(
        d,
        &format!("{f}/answer"),
        nullable(
            json!({ "type": "string", "maxLength": engine::kb::MAX_BODY_CHARS, "pattern": format!("[^{WS}{CC}]") }),
        ),
    );
    set(d, &format!("{f}/category"), key);
    let h = "/components/schemas/HelpSettingsIo/properties";
    set(
        d,
        &format!("{h}/color"),
        nullable(string(&format!("^[{WS}]*#[0-9A-Fa-f]{{6}}[{WS}]*$"), 40)),
    );
    set(
        d,
        &format!("{h}/languages"),
        json!({ "type": "array", "items": lang, "minItems": 1, "maxItems": domain::kb::MAX_LANGUAGES }),
    );
    let params = "/paths/~1api~1v1~1kb~1analytics/get/parameters";
    match d.pointer_mut(params).and_then(Value::as_array_mut) {
        Some(ps) => {
            for p in ps.iter_mut().filter(|p| p["name"] == "lang") {
                p["schema"] = json!({ "type": "string", "pattern": language() });
            }
        }
        None => MISSED.with(|m| m.borrow_mut().push("GET /api/v1/kb/analytics lang".into())),
    }
}

/// Live chat's input rules (`domain::chat`, `engine::chat`).
fn chat_rules(d: &mut Value) {
    let lang = json!({ "type": "string", "pattern": language() });
    let origins = list(
        string(&origin(), domain::chat::MAX_ORIGIN as u32),
        domain::chat::MAX_ORIGINS as u32,
    );
    let color = string(&format!("^[{WS}]*#[0-9A-Fa-f]{{6}}[{WS}]*$"), 40);
    let greeting = json!({
        "type": "object",
        "propertyNames": { "pattern": language() },
        "additionalProperties": { "type": "string", "maxLength": domain::chat::MAX_GREETING },
        "maxProperties": domain::kb::MAX_LANGUAGES,
    });
    let prechat = json!({
        "type": "array",
        "maxItems": 3,
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["field", "required"],
            "properties": {
                "field": enum_of(&domain::chat::PrechatKind::ALL.map(|k| k.as_str())),
                "required": { "type": "boolean" },
            },
        },
    });
    let c = "/components/schemas/ChatChannelIn/properties";
    set(d, &format!("{c}/name"), line(100));
    set(
        d,
        &format!("{c}/allowed_origins"),
        nullable(origins.clone()),
    );
    set(d, &format!("{c}/color"), nullable(color.clone()));
    set(d, &format!("{c}/greeting"), nullable(greeting.clone()));
    set(d, &format!("{c}/prechat"), nullable(prechat.clone()));
    let c = "/components/schemas/PatchChatChannelIn/properties";
    set(d, &format!("{c}/name"), nullable(line(100)));
    set(d, &format!("{c}/allowed_origins"), nullable(origins));
    set(d, &format!("{c}/color"), nullable(color));
    set(d, &format!("{c}/greeting"), nullable(greeting));
    set(d, &format!("{c}/prechat"), nullable(prechat));
    for schema in ["VisitorIn", "PatchVisitorIn"] {
        let v = format!("/components/schemas/{schema}/properties");
        set(d, &format!("{v}/name"), nullable(line(200)));
        set(d, &format!("{v}/email"), nullable(string(&email(), 254)));
        set(
            d,
            &format!("{v}/phone"),
            nullable(json!({ "type": "string", "pattern": phone() })),
        );
        set(d, &format!("{v}/lang"), nullable(lang.clone()));
        set(d, &format!("{v}/page_url"), nullable(line(2000)));
        set(d, &format!("{v}/page_title"), nullable(line(300)));
    }
    let i = "/components/schemas/IdentityIn/properties";
    set(d, &format!("{i}/user_id"), string(&other_id(), 200));
    set(d, &format!("{i}/hmac"), string("^[0-9A-Fa-f]{64}$", 64));
    let m = "/components/schemas/ChatMessageIn/properties";
    set(d, &format!("{m}/client_id"), string(&other_id(), 100));
    set(
        d,
        &format!("{m}/text"),
        json!({ "type": "string", "maxLength": domain::chat::MAX_MESSAGE, "pattern": format!("[^{WS}{CC}]") }),
    );
}

/// Business hours' input rules (`domain::calendar`).
fn sla_rules(d: &mut Value) {
    let time = json!({ "type": "string", "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$" });
    let day = json!({
        "type": ["array", "null"],
        "maxItems": domain::calendar::MAX_INTERVALS,
        "items": { "type": "array", "minItems": 2, "maxItems": 2, "items": time },
    });
    let w = "/components/schemas/WeekIo/properties";
    for name in engine::sla::DAYS {
        set(d, &format!("{w}/{name}"), day.clone());
    }
    let zone = json!({ "type": "string", "enum": domain::calendar::zone_names() });
    let holidays = json!({
        "type": "array",
        "maxItems": domain::calendar::MAX_HOLIDAYS,
        "items": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date" },
    });
    let b = "/components/schemas/BusinessHoursIn/properties";
    set(d, &format!("{b}/name"), line(100));
    set(d, &format!("{b}/time_zone"), zone.clone());
    set(d, &format!("{b}/holidays"), nullable(holidays.clone()));
    let b = "/components/schemas/PatchBusinessHoursIn/properties";
    set(d, &format!("{b}/name"), nullable(line(100)));
    set(d, &format!("{b}/time_zone"), nullable(zone));
    set(d, &format!("{b}/holidays"), nullable(holidays));

    use domain::sla::{ClockState, MAX_CONDITION_VALUES as N, MAX_TARGET_MINUTES};
    use domain::ticket::{Channel, Priority};
    let n = N as u32;
    let c = "/components/schemas/ConditionsIo/properties";
    set(
        d,
        &format!("{c}/channel"),
        list(enum_of(&names(Channel::ALL, Channel::as_str)), n),
    );
    set(
        d,
        &format!("{c}/priority"),
        list(enum_of(&names(Priority::ALL, Priority::as_str)), n),
    );
    set(
        d,
        &format!("{c}/team"),
        list(json!({ "type": "string", "format": "uuid" }), n),
    );
    set(
        d,
        &format!("{c}/customer_tags"),
        list(string(&tag(), 200), n),
    );
    set(
        d,
        &format!("{c}/language"),
        list(json!({ "type": "string", "pattern": language() }), n),
    );
    let minutes =
        json!({ "type": ["integer", "null"], "minimum": 1, "maximum": MAX_TARGET_MINUTES });
    let t = "/components/schemas/TargetsIo/properties";
    let keys = [
        "first_reply_minutes",
        "next_reply_minutes",
        "resolution_minutes",
    ];
    for k in keys {
        set(d, &format!("{t}/{k}"), minutes.clone());
    }
    // At least one target is set.
    let one_of: Vec<Value> = keys
        .iter()
        .map(|k| json!({ "required": [k], "properties": { *k: { "type": "integer" } } }))
        .collect();
    set(
        d,
        "/components/schemas/TargetsIo/anyOf",
        Value::Array(one_of),
    );
    let warn = json!({ "type": ["number", "null"], "minimum": 0.001, "maximum": 0.999 });
    let position = json!({ "type": ["integer", "null"], "minimum": 0, "maximum": 10000 });
    let p = "/components/schemas/SlaPolicyIn/properties";
    set(d, &format!("{p}/name"), line(100));
    set(d, &format!("{p}/position"), position.clone());
    set(d, &format!("{p}/warn_at"), warn.clone());
    let p = "/components/schemas/PatchSlaPolicyIn/properties";
    set(d, &format!("{p}/name"), nullable(line(100)));
    set(d, &format!("{p}/position"), position);
    set(d, &format!("{p}/warn_at"), warn);
    set(
        d,
        "/components/schemas/SlaClockOut/properties/state",
        enum_of(&names(ClockState::ALL, ClockState::as_str)),
    );
}

/// Text with `{{placeholders}}` that `domain::template::check` accepts: a
/// `{{` only opens a known placeholder.
fn template() -> String {
    let names: Vec<String> = domain::template::PLACEHOLDERS
        .iter()
        .map(|p| p.replace('.', "\\."))
        .collect();
    format!(
        "^(?:[^{{]|\\{{[^{{]|\\{{$|\\{{\\{{[{WS}]*(?:{})[{WS}]*\\}}\\}})*$",
        names.join("|")
    )
}

/// Rules' conditions and actions (`domain::rules`), one branch per shape.
fn rules_rules(d: &mut Value) {
    use domain::rules::{
        MAX_ACTIONS, MAX_CONDITIONS, MAX_NOTIFY, MAX_PATTERN, MAX_TEXT, On, RuleKind,
    };
    use domain::ticket::{AuthorKind, Channel, Priority, Status};
    let max = MAX_TEXT as u32;
    let uuid = json!({ "type": "string", "format": "uuid" });
    let text = json!({ "type": "string", "maxLength": max, "pattern": format!("[^{WS}]") });
    let templated = json!({ "allOf": [text, { "type": "string", "pattern": template() }] });
    let some = |v: Value| json!({ "type": "array", "minItems": 1, "maxItems": 100, "items": v });
    let branch = |fields: &[&str], ops: &[&str], value: Option<Value>| {
        let mut b = json!({
            "type": "object", "additionalProperties": false, "required": ["field", "op"],
            "properties": { "field": enum_of(fields), "op": enum_of(ops), "value": value.clone().unwrap_or(json!({})) },
        });
        if value.is_some() {
            b["required"] = json!(["field", "op", "value"]);
        }
        b
    };
    let statuses = enum_of(&names(Status::ALL, Status::as_str));
    let mut conds = Vec::new();
    for (field, one) in [
        ("status", statuses.clone()),
        ("priority", enum_of(&names(Priority::ALL, Priority::as_str))),
        ("channel", enum_of(&names(Channel::ALL, Channel::as_str))),
        (
            "author",
            enum_of(&names(AuthorKind::ALL, AuthorKind::as_str)),
        ),
        (
            "language",
            json!({ "type": "string", "pattern": language() }),
        ),
        (
            "message_language",
            json!({ "type": "string", "pattern": language() }),
        ),
        ("sentiment", enum_of(&domain::assist::SENTIMENTS)),
    ] {
        conds.push(branch(&[field], &["is", "is_not"], Some(one.clone())));
        conds.push(branch(&[field], &["in", "not_in"], Some(some(one))));
    }
    conds.push(branch(
        &["status_changed_to"],
        &["is"],
        Some(statuses.clone()),
    ));
    conds.push(branch(
        &["status_changed_to"],
        &["in"],
        Some(some(statuses)),
    ));
    for (field, one) in [
        ("team", uuid.clone()),
        ("assignee", uuid.clone()),
        ("category", text.clone()),
        ("triage_category", string(&tag(), max)),
    ] {
        conds.push(branch(&[field], &["is", "is_not"], Some(one.clone())));
        let item = if field == "category" {
            json!({ "type": "string", "maxLength": max })
        } else {
            one
        };
        conds.push(branch(&[field], &["in", "not_in"], Some(some(item))));
        conds.push(branch(&[field], &["is_set", "not_set"], None));
    }
    conds.push(branch(
        &[
            "tier",
            "hours_since_created",
            "hours_since_updated",
            "hours_since_customer",
        ],
        &["is", "is_not", "gt", "lt"],
        Some(json!({ "type": "integer", "minimum": 0, "maximum": 100_000 })),
    ));
    conds.push(branch(
        &["tags", "customer_tags", "subject", "message"],
        &["contains", "not_contains"],
        Some(text.clone()),
    ));
    conds.push(branch(
        &["subject", "message"],
        &["matches"],
        Some(json!({ "type": "string", "maxLength": MAX_PATTERN, "pattern": domain::rules::PATTERN_GRAMMAR })),
    ));
    conds.push(branch(
        &["triage_confidence"],
        &["gt", "lt"],
        Some(json!({ "type": "integer", "minimum": 0, "maximum": 100 })),
    ));
    conds.push(branch(
        &["urgency"],
        &["is", "is_not"],
        Some(enum_of(&domain::assist::URGENCIES)),
    ));
    conds.push(branch(
        &["open_hours"],
        &["is", "is_not"],
        Some(uuid.clone()),
    ));
    let condition = json!({ "anyOf": conds });

    let action = |kind: &str, required: &[&str], props: Value| {
        let mut p = props;
        p["type"] = json!({ "type": "string", "enum": [kind] });
        let mut req = vec!["type"];
        req.extend(required);
        json!({ "type": "object", "additionalProperties": false, "required": req, "properties": p })
    };
    let tags =
        json!({ "type": "array", "minItems": 1, "maxItems": 50, "items": string(&tag(), 200) });
    let nuuid = nullable(uuid.clone());
    let actions = vec![
        action(
            "set_status",
            &["status"],
            json!({ "status": enum_of(&names(Status::ALL, Status::as_str)) }),
        ),
        action(
            "set_priority",
            &["priority"],
            json!({ "priority": enum_of(&names(Priority::ALL, Priority::as_str)) }),
        ),
        action("set_team", &[], json!({ "team_id": nuuid })),
        action(
            "set_tier",
            &["tier"],
            json!({ "tier": { "type": "integer", "minimum": 1, "maximum": 3 } }),
        ),
        action(
            "set_category",
            &[],
            json!({ "category": { "type": ["string", "null"], "maxLength": 100 } }),
        ),
        action("add_tags", &["tags"], json!({ "tags": tags })),
        action("remove_tags", &["tags"], json!({ "tags": tags })),
        action(
            "set_field",
            &["key", "value"],
            json!({ "key": { "type": "string", "minLength": 1, "maxLength": 64 }, "value": {} }),
        ),
        action("assign", &[], json!({ "user_id": nuuid })),
        action(
            "reply",
            &["body"],
            json!({ "body": templated, "translations": {
            "type": "object", "maxProperties": 20,
            "propertyNames": { "pattern": "^[a-z]{2,3}(-[a-z0-9]{2,8})*$" },
            "additionalProperties": templated,
        } }),
        ),
        action("add_note", &["body"], json!({ "body": templated })),
        json!({ "allOf": [
            action("notify", &["text"], json!({
                "user_ids": { "type": "array", "maxItems": MAX_NOTIFY, "items": uuid },
                "team_id": nuuid, "text": templated, "email": { "type": "boolean" },
                "telegram": { "type": "boolean" } })),
            { "anyOf": [
                { "required": ["team_id"], "properties": { "team_id": uuid } },
                { "required": ["user_ids"], "properties": { "user_ids": { "type": "array", "minItems": 1 } } },
            ] },
        ] }),
        action(
            "webhook",
            &["url"],
            json!({ "url": { "type": "string", "maxLength": 2000, "pattern": "^https?://" } }),
        ),
        action(
            "escalate",
            &["reason"],
            json!({ "reason": text, "team_id": nuuid }),
        ),
    ];
    // A macro's actions are the first nine: the ones that change the ticket.
    macros_rules(d, &actions[..9]);
    let action = json!({ "anyOf": actions });
    let conditions = json!({ "type": "array", "maxItems": MAX_CONDITIONS, "items": condition });
    let actions =
        json!({ "type": "array", "minItems": 1, "maxItems": MAX_ACTIONS, "items": action });
    let on = json!({ "type": "array", "maxItems": On::ALL.len() * 4, "items": enum_of(&names(On::ALL, On::as_str)) });
    let kind = enum_of(&names(RuleKind::ALL, RuleKind::as_str));
    let position = json!({ "type": "integer", "minimum": 0, "maximum": 1_000_000 });
    for schema in ["RuleIn", "PatchRuleIn", "DryRunIn", "RuleOut"] {
        let p = format!("/components/schemas/{schema}/properties");
        let opt = |v: &Value| {
            if schema == "RuleOut" {
                v.clone()
            } else {
                nullable(v.clone())
            }
        };
        let required = |v: &Value| {
            if schema == "PatchRuleIn" {
                nullable(v.clone())
            } else {
                v.clone()
            }
        };
        set(d, &format!("{p}/kind"), required(&kind));
        set(d, &format!("{p}/on"), opt(&on));
        set(d, &format!("{p}/all"), opt(&conditions));
        set(d, &format!("{p}/any"), opt(&conditions));
        set(d, &format!("{p}/actions"), required(&actions));
        if schema != "DryRunIn" {
            set(d, &format!("{p}/name"), required(&line(200)));
            set(d, &format!("{p}/position"), opt(&position));
        }
    }
    // A trigger listens to something; an automation to nothing, and has a
    // time condition in `all`.
    let given = |field: &str, t: &str| json!({ "required": [field], "properties": { field: { "type": t } } });
    let time = json!({
        "type": "object", "required": ["field", "op"],
        "properties": {
            "field": { "enum": ["hours_since_created", "hours_since_updated", "hours_since_customer"] },
            "op": { "const": "gt" },
        },
    });
    let kinds = json!([
        { "if": { "required": ["kind"], "properties": { "kind": { "const": "trigger" } } },
          "then": { "required": ["on"], "properties": { "on": { "type": "array", "minItems": 1 } } } },
        { "if": { "required": ["kind"], "properties": { "kind": { "const": "automation" } } },
          "then": { "required": ["all"], "properties": {
              "on": { "anyOf": [{ "type": "null" }, { "type": "array", "maxItems": 0 }] },
              "all": { "type": "array", "contains": time } } } },
    ]);
    set(d, "/components/schemas/RuleIn/allOf", kinds.clone());
    set(d, "/components/schemas/DryRunIn/allOf", kinds.clone());
    // A change to what the rule is gives the whole of it, `kind` first.
    let mut patch = kinds.as_array().cloned().unwrap_or_default();
    patch.push(json!({ "if": given("kind", "string"), "then": given("actions", "array") }));
    patch.push(json!({
        "if": { "anyOf": [given("on", "array"), given("all", "array"), given("any", "array"), given("actions", "array")] },
        "then": given("kind", "string"),
    }));
    set(
        d,
        "/components/schemas/PatchRuleIn/allOf",
        Value::Array(patch),
    );
    if let Some(params) = d
        .pointer_mut("/paths/~1api~1v1~1rules/get/parameters")
        .and_then(Value::as_array_mut)
        && let Some(p) = params.iter_mut().find(|p| p["name"] == "kind")
    {
        p["schema"] = kind.clone();
    } else {
        MISSED.with(|m| m.borrow_mut().push("GET /api/v1/rules kind".into()));
    }
}

/// Macros: a text with `{{placeholders}}` and changes to the ticket; at least
/// one of the two, and translations only beside a text.
fn macros_rules(d: &mut Value, ticket_actions: &[Value]) {
    use domain::macros::{MAX_ACTIONS, MAX_BODY, MAX_NAME, MAX_TRANSLATIONS};
    let max = MAX_BODY as u32;
    let body = json!({ "type": "string", "maxLength": max, "pattern": template() });
    let said = json!({ "type": "string", "maxLength": max, "pattern": format!("[^{WS}]") });
    let translations = json!({
        "type": "object", "maxProperties": MAX_TRANSLATIONS,
        "propertyNames": { "pattern": "^[a-z]{2,3}(-[a-z0-9]{2,8})*$" },
        "additionalProperties": { "allOf": [said, body] },
    });
    let actions =
        json!({ "type": "array", "maxItems": MAX_ACTIONS, "items": { "anyOf": ticket_actions } });
    let visibility = enum_of(&["public", "internal"]);
    let given = |field: &str, v: Value| json!({ "required": [field], "properties": { field: v } });
    let whole = json!([
        { "if": { "anyOf": [
              given("body", json!({ "type": "string" })), given("translations", json!({ "type": "object" })),
              given("visibility", json!({ "type": "string" })), given("actions", json!({ "type": "array" })) ] },
          "then": { "anyOf": [given("body", said.clone()), given("actions", json!({ "type": "array", "minItems": 1 }))] } },
        { "if": given("translations", json!({ "type": "object", "minProperties": 1 })),
          "then": given("body", said.clone()) },
    ]);
    for schema in ["MacroIn", "PatchMacroIn"] {
        let p = format!("/components/schemas/{schema}/properties");
        let name = line(MAX_NAME as u32);
        set(
            d,
            &format!("{p}/name"),
            if schema == "MacroIn" {
                name
            } else {
                nullable(name)
            },
        );
        set(d, &format!("{p}/body"), nullable(body.clone()));
        set(
            d,
            &format!("{p}/translations"),
            nullable(translations.clone()),
        );
        set(d, &format!("{p}/visibility"), nullable(visibility.clone()));
        set(d, &format!("{p}/actions"), nullable(actions.clone()));
        set(
            d,
            &format!("/components/schemas/{schema}/allOf"),
            whole.clone(),
        );
    }
    // In MacroIn the text-or-action rule holds whatever is given.
    set(
        d,
        "/components/schemas/MacroIn/allOf/0/if",
        json!({ "type": "object" }),
    );
    let p = "/components/schemas/MacroOut/properties";
    set(d, &format!("{p}/visibility"), visibility);
    set(d, &format!("{p}/actions"), actions);
    set(
        d,
        "/components/schemas/AppliedMacroOut/properties/visibility",
        enum_of(&["public", "internal"]),
    );
}

fn rules_examples(d: &mut Value) {
    let spec = json!({
        "kind": "trigger", "on": ["customer.wrote"],
        "all": [{ "field": "language", "op": "is", "value": "ru" }, { "field": "status", "op": "in", "value": ["new", "open"] }],
        "any": [{ "field": "message", "op": "matches", "value": "возврат|вернуть" }],
        "actions": [{ "type": "add_tags", "tags": ["returns"] }, { "type": "set_priority", "priority": "high" },
            { "type": "reply", "body": "Thank you, {{customer.first_name}}: returns are answered within a day.",
              "translations": { "ru": "Спасибо, {{customer.first_name}}! На вопросы о возврате отвечаем в течение дня." } }],
    });
    let mut rule_in = spec.clone();
    rule_in["name"] = json!("Returns in Russian");
    rule_in["position"] = json!(10);
    let mut out = rule_in.clone();
    out["id"] = json!("01936f1e-7b2a-7c41-9a55-0d3c7e2b9d01");
    out["active"] = json!(true);
    out["fired"] = json!(42);
    out["last_fired_at"] = json!("2026-11-30T09:40:00Z");
    out["created_at"] = json!("2026-11-29T10:15:00Z");
    out["updated_at"] = json!("2026-11-29T10:15:00Z");
    let ticket = d
        .pointer("/components/schemas/TicketOut/example")
        .cloned()
        .unwrap_or(Value::Null);
    let macro_in = json!({ "name": "Где заказ?", "shared": true,
        "body": "Hello {{customer.first_name}}, your order is with the courier; the tracking number follows by email. — {{agent.first_name}}",
        "translations": { "ru": "Здравствуйте, {{customer.first_name}}! Заказ передан в доставку, трек-номер придёт письмом. — {{agent.first_name}}" },
        "visibility": "public",
        "actions": [{ "type": "add_tags", "tags": ["delivery"] }, { "type": "set_status", "status": "pending" }] });
    let mut macro_out = macro_in.clone();
    macro_out["id"] = json!("01936f1e-7b2a-7c41-9a55-0d3c7e2b9e01");
    macro_out["owner_id"] = Value::Null;
    macro_out["usage_count"] = json!(17);
    macro_out["last_used_at"] = json!("2026-11-30T09:40:00Z");
    macro_out["created_at"] = json!("2026-11-29T10:15:00Z");
    macro_out["updated_at"] = json!("2026-11-29T10:15:00Z");
    let all: [(&str, Value); 13] = [
        (
            "DryRunOut",
            json!({ "items": [ticket.clone()], "scanned": 1840, "truncated": false }),
        ),
        ("RuleIn", rule_in),
        ("PatchRuleIn", json!({ "active": false })),
        ("DryRunIn", spec),
        ("RuleOut", out.clone()),
        ("RuleList", json!({ "items": [out] })),
        ("MacroIn", macro_in.clone()),
        ("PatchMacroIn", json!({ "name": "Где заказ? (доставка)" })),
        ("MacroOut", macro_out.clone()),
        ("MacroList", json!({ "items": [macro_out] })),
        (
            "ApplyMacroIn",
            json!({ "macro_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9e01" }),
        ),
        (
            "AppliedMacroOut",
            json!({ "ticket": ticket.clone(), "visibility": "public",
            "body": "Здравствуйте, Анна! Заказ передан в доставку, трек-номер придёт письмом. — Иван" }),
        ),
        (
            "WebhookKeyOut",
            json!({ "key": "whk_4f1c0d9e2b7a6c5d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445" }),
        ),
    ];
    for (name, example) in all {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
}

fn sla_examples(d: &mut Value) {
    let week = json!({ "mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]], "fri": [["09:00", "17:00"]], "sat": [], "sun": [] });
    let out = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01", "name": "Moscow office", "time_zone": "Europe/Moscow",
        "week": week, "holidays": ["2027-01-01", "2027-01-07"], "created_at": "2026-11-29T10:15:00Z", "updated_at": "2026-11-29T10:15:00Z" });
    let policy = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c02", "name": "Email", "position": 1,
        "conditions": { "channel": ["email"], "priority": [], "team": [], "customer_tags": [], "language": [] },
        "business_hours_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01",
        "targets": { "first_reply_minutes": 240, "next_reply_minutes": 480, "resolution_minutes": 2880 },
        "warn_at": 0.75, "created_at": "2026-11-29T10:15:00Z", "updated_at": "2026-11-29T10:15:00Z" });
    let all: [(&str, Value); 10] = [
        ("WeekIo", week.clone()),
        (
            "BusinessHoursIn",
            json!({ "name": "Moscow office", "time_zone": "Europe/Moscow", "week": week, "holidays": ["2027-01-01", "2027-01-07"] }),
        ),
        (
            "PatchBusinessHoursIn",
            json!({ "holidays": ["2027-01-01", "2027-01-07", "2027-02-23"] }),
        ),
        ("BusinessHoursOut", out.clone()),
        ("BusinessHoursList", json!({ "items": [out] })),
        (
            "SlaPolicyIn",
            json!({ "name": "Email", "position": 1, "conditions": { "channel": ["email"], "priority": [] },
                "business_hours_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01",
                "targets": { "first_reply_minutes": 240, "next_reply_minutes": 480, "resolution_minutes": 2880 },
                "warn_at": 0.75 }),
        ),
        (
            "PatchSlaPolicyIn",
            json!({ "targets": { "first_reply_minutes": 120, "next_reply_minutes": 480, "resolution_minutes": 2880 } }),
        ),
        ("SlaPolicyOut", policy.clone()),
        ("SlaPolicyList", json!({ "items": [policy] })),
        (
            "TicketSlaOut",
            json!({ "policy_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c02",
                "first_reply": { "state": "met", "due_at": "2026-11-30T13:15:00Z", "warn_at": null,
                    "started_at": "2026-11-30T09:15:00Z", "stopped_at": "2026-11-30T10:02:00Z", "breached_at": null, "remaining_s": null, "cycle": 0 },
                "next_reply": null,
                "resolution": { "state": "running", "due_at": "2026-12-02T15:00:00Z", "warn_at": "2026-12-02T09:15:00Z",
                    "started_at": "2026-11-30T09:15:00Z", "stopped_at": null, "breached_at": null, "remaining_s": null, "cycle": 0 } }),
        ),
    ];
    for (name, example) in all {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
}

/// An address the server POSTs to (webhooks): http(s), a host as
/// [`API_BASE`] takes it, a port, any path and query.
pub fn web_url() -> String {
    let base = API_BASE.trim_end_matches("(/[A-Za-z0-9._~-]*)*$");
    format!("{base}(/[^\\s#]*)?$")
}

/// A bot token as BotFather gives it (`engine::telegram::parse_token`).
pub const BOT_TOKEN: &str = "^[0-9]{1,18}:[A-Za-z0-9_-]{1,200}$";

/// An API base the engine takes (`engine::telegram::parse_base`): http(s), a
/// host (a dotted IPv4 address without leading zeros — URL parsers read
/// `08` as a broken octal number —, or names whose last label starts with a letter
/// and none holding `--`), a port, a path; no query, fragment or credentials.
pub const API_BASE: &str = concat!(
    "^https?://(((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
    "|([A-Za-z0-9]+(-[A-Za-z0-9]+)*\\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*)",
    "(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?",
    "(/[A-Za-z0-9._~-]*)*$"
);

/// Ids the Graph API gives (a phone number's, a business account's).
pub const GRAPH_ID: &str = "^[0-9]{1,30}$";
/// A secret copied from Meta: visible ASCII, no spaces.
pub const META_SECRET: &str = "^[!-~]{1,500}$";

fn messenger_rules(d: &mut Value) {
    let kinds: Vec<&str> = std::iter::once("*")
        .chain(domain::event::EventData::KINDS.iter().copied())
        .collect();
    let hook_url = string(&web_url(), 2000);
    set(
        d,
        "/components/schemas/WebhookIn/properties/url",
        hook_url.clone(),
    );
    set(
        d,
        "/components/schemas/WebhookIn/properties/events",
        json!({ "type": "array", "minItems": 1, "maxItems": 50, "items": enum_of(&kinds) }),
    );
    set(
        d,
        "/components/schemas/PatchWebhookIn/properties/url",
        nullable(hook_url.clone()),
    );
    set(
        d,
        "/components/schemas/PatchWebhookIn/properties/events",
        json!({ "type": ["array", "null"], "minItems": 1, "maxItems": 50, "items": enum_of(&kinds) }),
    );
    for schema in ["ApiChannelIn", "PatchApiChannelIn"] {
        set(
            d,
            &format!("/components/schemas/{schema}/properties/webhook_url"),
            nullable(hook_url.clone()),
        );
    }
    for (schema, required) in [
        ("WhatsappChannelIn", true),
        ("PatchWhatsappChannelIn", false),
    ] {
        let c = format!("/components/schemas/{schema}/properties");
        let maybe = |v: Value| if required { v } else { nullable(v) };
        set(d, &format!("{c}/name"), maybe(line(100)));
        for f in ["access_token", "app_secret", "verify_token"] {
            set(d, &format!("{c}/{f}"), maybe(string(META_SECRET, 500)));
        }
        set(
            d,
            &format!("{c}/api_base_url"),
            nullable(string(API_BASE, 300)),
        );
        set(
            d,
            &format!("{c}/business_account_id"),
            nullable(string(GRAPH_ID, 30)),
        );
    }
    set(
        d,
        "/components/schemas/WhatsappChannelIn/properties/phone_number_id",
        string(GRAPH_ID, 30),
    );
    for (schema, required) in [("VkChannelIn", true), ("PatchVkChannelIn", false)] {
        let c = format!("/components/schemas/{schema}/properties");
        let maybe = |v: Value| if required { v } else { nullable(v) };
        set(d, &format!("{c}/name"), maybe(line(100)));
        for f in ["access_token", "secret", "confirmation"] {
            set(d, &format!("{c}/{f}"), maybe(string(META_SECRET, 500)));
        }
        set(
            d,
            &format!("{c}/api_base_url"),
            nullable(string(API_BASE, 300)),
        );
    }
    set(
        d,
        "/components/schemas/VkChannelIn/properties/group_id",
        string("^[1-9][0-9]{0,19}$", 20),
    );
    let line_io = json!({
        "type": "object", "additionalProperties": false, "required": ["number", "name"],
        "properties": {
            "number": { "type": "string", "maxLength": 40, "pattern": phone() },
            "name": line(100),
            "team_id": { "type": ["string", "null"], "format": "uuid" },
        },
    });
    set(d, "/components/schemas/PhoneLineIo", line_io.clone());
    set(
        d,
        "/components/schemas/PhoneChannelIn/properties/name",
        line(100),
    );
    set(
        d,
        "/components/schemas/PhoneChannelIn/properties/lines",
        list(line_io.clone(), engine::phone::MAX_LINES as u32),
    );
    set(
        d,
        "/components/schemas/PatchPhoneChannelIn/properties/name",
        nullable(line(100)),
    );
    set(
        d,
        "/components/schemas/PatchPhoneChannelIn/properties/lines",
        nullable(list(line_io, engine::phone::MAX_LINES as u32)),
    );
    set(
        d,
        "/components/schemas/ApiChannelIn/properties/name",
        line(100),
    );
    set(
        d,
        "/components/schemas/PatchApiChannelIn/properties/name",
        nullable(line(100)),
    );
    let m = "/components/schemas/ApiMessageIn/properties";
    set(d, &format!("{m}/external_id"), line(255));
    set(d, &format!("{m}/subject"), nullable(line(200)));
    set(
        d,
        &format!("{m}/attachments"),
        json!({ "type": "array", "maxItems": engine::Limits::default().max_attachments_per_message,
                "items": { "type": "string", "format": "uuid" } }),
    );
    let snd = "/components/schemas/ApiSenderIn";
    set(
        d,
        &format!("{snd}/properties/id"),
        nullable(
            json!({ "type": "string", "minLength": 1, "maxLength": 255, "pattern": format!("[^{WS}{CC}]") }),
        ),
    );
    set(d, &format!("{snd}/properties/name"), nullable(line(200)));
    set(
        d,
        &format!("{snd}/properties/email"),
        nullable(string(&email(), 254)),
    );
    set(
        d,
        &format!("{snd}/properties/phone"),
        nullable(json!({ "type": "string", "maxLength": 40, "pattern": phone() })),
    );
    set(
        d,
        &format!("{snd}/anyOf"),
        json!([{ "required": ["id"], "properties": { "id": { "type": "string" } } },
               { "required": ["email"], "properties": { "email": { "type": "string" } } },
               { "required": ["phone"], "properties": { "phone": { "type": "string" } } }]),
    );
    let c = "/components/schemas/CallEventIn/properties";
    set(d, &format!("{c}/call_id"), line(200));
    set(
        d,
        &format!("{c}/event"),
        enum_of(&["ringing", "answered", "ended", "missed"]),
    );
    for f in ["from", "to"] {
        set(
            d,
            &format!("{c}/{f}"),
            json!({ "type": "string", "maxLength": 40, "pattern": phone() }),
        );
    }
    set(
        d,
        &format!("{c}/line"),
        nullable(json!({ "type": "string", "maxLength": 40, "pattern": phone() })),
    );
    set(d, &format!("{c}/agent"), nullable(string(&email(), 254)));
    set(
        d,
        &format!("{c}/duration_s"),
        json!({ "type": ["integer", "null"], "minimum": 0, "maximum": 86400 }),
    );
    set(
        d,
        &format!("{c}/recording_url"),
        nullable(string("^https?://[^\\s]+$", 2000)),
    );
    let t = "/components/schemas/TemplateIn/properties";
    set(d, &format!("{t}/name"), string("^[a-z0-9_]{1,512}$", 512));
    set(
        d,
        &format!("{t}/language"),
        string("^[a-z]{2,3}(_[A-Z]{2})?$", 6),
    );
    set(
        d,
        &format!("{t}/parameters"),
        list(
            json!({ "type": "string", "maxLength": 1024, "pattern": format!("^[^\\n\\t]*[^{WS}{CC}][^\\n\\t]*$") }),
            20,
        ),
    );
    let c = "/components/schemas/TelegramChannelIn/properties";
    set(d, &format!("{c}/name"), line(100));
    set(d, &format!("{c}/bot_token"), string(BOT_TOKEN, 219));
    set(
        d,
        &format!("{c}/api_base_url"),
        nullable(string(API_BASE, 300)),
    );
    let c = "/components/schemas/PatchTelegramChannelIn/properties";
    set(d, &format!("{c}/name"), nullable(line(100)));
    set(
        d,
        &format!("{c}/bot_token"),
        nullable(string(BOT_TOKEN, 219)),
    );
    set(
        d,
        &format!("{c}/api_base_url"),
        nullable(string(API_BASE, 300)),
    );
}

fn messenger_examples(d: &mut Value) {
    let at = "2026-11-29T10:15:00Z";
    let channel = json!({
        "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01", "name": "Shop bot", "bot_id": 7012345678_i64,
        "bot_username": "shop_help_bot", "api_base_url": "https://api.telegram.org",
        "webhook_url": "https://support.shop.example/hooks/telegram/01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01",
        "team_id": null, "active": true, "created_at": at, "updated_at": at
    });
    let wa = json!({
        "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c02", "name": "WhatsApp", "phone_number_id": "106540352242922",
        "business_account_id": "102290129340398", "display_phone_number": "+7 999 000-11-22",
        "verified_name": "Shop Support", "api_base_url": "https://graph.facebook.com/v21.0",
        "webhook_url": "https://support.shop.example/hooks/whatsapp/01936f1e-7b2a-7c41-9a55-0d3c7e2b9c02",
        "team_id": null, "active": true, "created_at": at, "updated_at": at
    });
    let template = json!({ "name": "order_update", "language": "ru", "category": "UTILITY",
        "body": "Здравствуйте, {{1}}! Заказ {{2}} передан в доставку.", "parameters": 2 });
    let more: [(&str, Value); 7] = [
        (
            "WhatsappChannelIn",
            json!({ "name": "WhatsApp", "phone_number_id": "106540352242922", "access_token": "EAAGm0PX4ZCpsBAKZB",
                    "app_secret": "3f1c5e9a8b7d6c5e4f3a2b1c0d9e8f7a", "verify_token": "otklik-verify-7f3a",
                    "business_account_id": "102290129340398" }),
        ),
        ("PatchWhatsappChannelIn", json!({ "name": "WhatsApp (RU)" })),
        ("WhatsappChannelOut", wa.clone()),
        ("WhatsappChannelList", json!({ "items": [wa] })),
        ("WhatsappHookAnswer", json!({ "messages": 1 })),
        (
            "TicketTemplates",
            json!({ "window_closes_at": "2026-11-30T10:15:00Z", "window_open": false, "items": [template] }),
        ),
        (
            "TemplateIn",
            json!({ "name": "order_update", "language": "ru", "parameters": ["Анна", "5531"] }),
        ),
    ];
    let vk = json!({
        "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c03", "name": "VK", "group_id": "218840127",
        "group_name": "Магазин «Колонка»", "screen_name": "kolonka_shop", "api_base_url": "https://api.vk.com/method",
        "webhook_url": "https://support.shop.example/hooks/vk/01936f1e-7b2a-7c41-9a55-0d3c7e2b9c03",
        "team_id": null, "active": true, "created_at": at, "updated_at": at
    });
    let phone_ch = json!({
        "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c04", "name": "Телефония",
        "lines": [{ "number": "+74951234567", "name": "Доставка", "team_id": null },
                  { "number": "+74951234568", "name": "Возвраты", "team_id": null }],
        "events_url": "https://support.shop.example/hooks/phone/01936f1e-7b2a-7c41-9a55-0d3c7e2b9c04",
        "signing_secret": null, "active": true, "created_at": at, "updated_at": at
    });
    let hook = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c06", "url": "https://crm.shop.example/otklik/events",
        "events": ["message.added", "ticket.created"], "active": true, "failures": 0, "disabled_reason": null,
        "secret": null, "created_at": at, "updated_at": at });
    let delivery = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c07", "event": "ticket.created", "state": "delivered",
        "attempts": 1, "response_status": 200, "response_body": "ok", "error": null, "created_at": at, "updated_at": at });
    for (name, example) in [
        (
            "WebhookIn",
            json!({ "url": "https://crm.shop.example/otklik/events", "events": ["ticket.created", "message.added"] }),
        ),
        ("PatchWebhookIn", json!({ "active": true })),
        ("WebhookOut", hook.clone()),
        ("WebhookList", json!({ "items": [hook] })),
        ("WebhookDeliveryOut", delivery.clone()),
        (
            "WebhookDeliveries",
            json!({ "items": [delivery], "next_cursor": null }),
        ),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    let api_ch = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c05", "name": "Умная колонка",
        "webhook_url": "https://assistant.shop.example/otklik/replies", "team_id": null, "signing_secret": null,
        "active": true, "created_at": at, "updated_at": at });
    for (name, example) in [
        (
            "ApiChannelIn",
            json!({ "name": "Умная колонка", "webhook_url": "https://assistant.shop.example/otklik/replies" }),
        ),
        ("PatchApiChannelIn", json!({ "rotate_secret": true })),
        ("ApiChannelOut", api_ch.clone()),
        ("ApiChannelList", json!({ "items": [api_ch] })),
        (
            "ApiSenderIn",
            json!({ "id": "user-42", "name": "Анна", "phone": "+79001234567" }),
        ),
        (
            "ApiMessageIn",
            json!({ "channel_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c05", "external_id": "utt-88121",
                    "sender": { "id": "user-42", "name": "Анна", "phone": "+79001234567" },
                    "text": "Алиса, где мой заказ 5531?", "attachments": [] }),
        ),
        (
            "ApiMessageOut",
            json!({ "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b03", "message_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b05", "duplicate": false }),
        ),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    for (name, example) in [
        (
            "PhoneChannelIn",
            json!({ "name": "Телефония", "lines": [{ "number": "+74951234567", "name": "Доставка", "team_id": null }] }),
        ),
        ("PatchPhoneChannelIn", json!({ "rotate_secret": true })),
        ("PhoneChannelOut", phone_ch.clone()),
        ("PhoneChannelList", json!({ "items": [phone_ch] })),
        (
            "PhoneLineIo",
            json!({ "number": "+74951234567", "name": "Доставка", "team_id": null }),
        ),
        (
            "CallEventIn",
            json!({ "call_id": "c-8812", "event": "ended", "from": "+79001234567", "to": "+74951234567",
                    "agent": "olga@shop.example", "duration_s": 204, "recording_url": "https://pbx.shop.example/rec/c-8812.mp3" }),
        ),
        (
            "CallEventAnswer",
            json!({ "outcome": "recorded", "agents": null, "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b03", "duplicate": false }),
        ),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    for (name, example) in [
        (
            "VkChannelIn",
            json!({ "name": "VK", "group_id": "218840127", "access_token": "vk1.a.Xf3kq9Lw2", "secret": "s3cr3t-key",
                    "confirmation": "a1b2c3d4" }),
        ),
        ("PatchVkChannelIn", json!({ "name": "VK (RU)" })),
        ("VkChannelOut", vk.clone()),
        ("VkChannelList", json!({ "items": [vk] })),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    set(
        d,
        "/paths/~1hooks~1vk~1{id}/post/requestBody/content/application~1json/example",
        json!({"type": "message_new", "event_id": "2b4d7c1e", "v": "5.199", "group_id": 218840127, "secret": "s3cr3t-key",
            "object": {"message": {"id": 812, "date": 1795000000, "from_id": 61245, "peer_id": 61245, "out": 0,
                "text": "Здравствуйте! Где мой заказ 5531?", "attachments": []}, "client_info": {}}}),
    );
    for (name, example) in more {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    set(d, "/components/schemas/TemplateOut/example", template);
    set(
        d,
        "/paths/~1hooks~1whatsapp~1{id}/post/requestBody/content/application~1json/example",
        json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "79990001122", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Анна"}, "wa_id": "79001234567"}],
            "messages": [{"from": "79001234567", "id": "wamid.HBgLNzkwMDEyMzQ1NjcVAgASGBQzQUI", "timestamp": "1795000000",
                "type": "text", "text": {"body": "Здравствуйте! Где мой заказ 5531?"}}]}}]}]}),
    );
    let all: [(&str, Value); 5] = [
        (
            "TelegramChannelIn",
            json!({ "name": "Shop bot", "bot_token": "7012345678:AAHk3vQ-1bZr_T9xJmP2sWcYd4uLf8eNoGa", "api_base_url": "https://api.telegram.org" }),
        ),
        ("PatchTelegramChannelIn", json!({ "name": "Shop bot (RU)" })),
        ("TelegramChannelOut", channel.clone()),
        ("TelegramChannelList", json!({ "items": [channel] })),
        ("HookAnswer", json!({ "accepted": true })),
    ];
    for (name, example) in all {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    set(
        d,
        "/paths/~1hooks~1telegram~1{id}/post/requestBody/content/application~1json/example",
        json!({ "update_id": 815234001, "message": { "message_id": 312, "date": 1_795_000_000,
            "chat": { "id": 5550123, "type": "private" },
            "from": { "id": 5550123, "is_bot": false, "first_name": "Анна", "language_code": "ru" },
            "text": "Здравствуйте! Где мой заказ 5531?" } }),
    );
}

fn chat_examples(d: &mut Value) {
    let at = "2026-11-29T10:15:00Z";
    let channel = json!({
        "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b01", "name": "Site chat",
        "widget_key": "wk_3q2-7wLh0nE4rPz9XbQmU1aYcVt8sKdJfG6iO5pRwAe",
        "allowed_origins": ["https://shop.example"], "color": "#1f6feb",
        "greeting": { "ru": "Здравствуйте! Чем помочь?", "en": "Hello! How can we help?" },
        "prechat": [{ "field": "name", "required": true }, { "field": "email", "required": false }],
        "offline_email": true, "active": true, "identity_secret_set": true,
        "identity_secret": null,
        "snippet": "<script src=\"https://support.shop.example/widget/v1/wk_3q2-7wLh0nE4rPz9XbQmU1aYcVt8sKdJfG6iO5pRwAe/loader.js\" async></script>",
        "created_at": at, "updated_at": at
    });
    let message = json!({
        "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b02", "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b03",
        "client_id": null, "author": { "kind": "agent", "name": "Ольга" }, "text": "Заказ 5531 передан курьеру, он позвонит сегодня.",
        "attachments": [], "delivery_state": "sent", "created_at": at, "quick_replies": [], "survey": null
    });
    let visitor = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b04", "name": "Анна", "email": null, "phone": null,
        "lang": "ru", "verified": false, "created_at": at });
    let all: [(&str, Value); 20] = [
        (
            "PrechatFieldIo",
            json!({ "field": "email", "required": true }),
        ),
        ("PrechatOut", json!({ "field": "email", "required": true })),
        (
            "ChatChannelIn",
            json!({ "name": "Site chat", "allowed_origins": ["https://shop.example"], "color": "#1f6feb",
                    "greeting": { "ru": "Здравствуйте! Чем помочь?" }, "prechat": [{ "field": "name", "required": true }],
                    "offline_email": true, "active": true }),
        ),
        (
            "PatchChatChannelIn",
            json!({ "allowed_origins": ["https://shop.example", "https://m.shop.example"], "rotate_identity_secret": false }),
        ),
        ("ChatChannelOut", channel.clone()),
        ("ChatChannelList", json!({ "items": [channel] })),
        (
            "WidgetConfig",
            json!({ "name": "Site chat", "color": "#1f6feb", "greeting": { "ru": "Здравствуйте! Чем помочь?" },
                    "prechat": [{ "field": "name", "required": true }], "offline_email": true,
                    "agents_online": 3, "expected_wait_s": 45 }),
        ),
        (
            "IdentityIn",
            json!({ "user_id": "42", "hmac": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" }),
        ),
        (
            "VisitorIn",
            json!({ "name": "Анна", "email": null, "phone": null, "lang": "ru", "identity": null,
                    "page_url": "https://shop.example/cart", "page_title": "Корзина" }),
        ),
        (
            "VisitorCreated",
            json!({ "visitor_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b04", "visitor_token": "vt_Zm9vYmFyYmF6cXV4…" }),
        ),
        ("VisitorOut", visitor),
        ("PatchVisitorIn", json!({ "email": "anna@example.com" })),
        (
            "ChatMessageIn",
            json!({ "client_id": "7f9c2ba4-e88f-4cf8-9b39-5a1e0c1f1d2e", "text": "Здравствуйте! Где мой заказ 5531?" }),
        ),
        (
            "ChatMessageCreated",
            json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b05", "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b03", "created_at": at }),
        ),
        ("ChatAuthor", json!({ "kind": "agent", "name": "Ольга" })),
        (
            "ChatAttachmentOut",
            json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b06", "filename": "чек.pdf", "content_type": "application/pdf", "size": 48213 }),
        ),
        (
            "ChatSurveyOut",
            json!({ "url": "https://help.shop.example/s/01936f1e-7b2a-7c41-9a55-0d3c7e2b9b07.k2m9x4q7r8t3v5w6", "low": 1, "high": 5, "score": null }),
        ),
        ("ChatMessageOut", message.clone()),
        ("ChatMessages", json!({ "items": [message] })),
        (
            "ReadIn",
            json!({ "up_to": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b02" }),
        ),
    ];
    for (name, example) in all {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
}

/// Sets the value at a JSON pointer whose parent exists; returns whether it did.
fn set(d: &mut Value, pointer: &str, v: Value) -> bool {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return false;
    };
    let key = key.replace("~1", "/").replace("~0", "~");
    match d.pointer_mut(parent).and_then(Value::as_object_mut) {
        Some(o) => {
            o.insert(key, v);
            true
        }
        None => {
            MISSED.with(|m| m.borrow_mut().push(pointer.to_owned()));
            false
        }
    }
}

thread_local! {
    /// Pointers that named nothing while the document was built (a renamed type
    /// or path); the tests require none.
    static MISSED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn build() -> Value {
    let mut d = serde_json::to_value(crate::openapi::doc()).unwrap_or(Value::Null);
    customer_in_rules(&mut d);
    field_rules(&mut d);
    ticket_rules(&mut d);
    people_rules(&mut d);
    mailbox_rules(&mut d);
    kb_rules(&mut d);
    chat_rules(&mut d);
    messenger_rules(&mut d);
    sla_rules(&mut d);
    rules_rules(&mut d);
    attachment_rules(&mut d);
    query_rules(&mut d);
    header_rules(&mut d);
    public_operations(&mut d);
    examples(&mut d);
    chat_examples(&mut d);
    messenger_examples(&mut d);
    sla_examples(&mut d);
    rules_examples(&mut d);
    order_rules(&mut d);
    order_examples(&mut d);
    outreach_rules(&mut d);
    assist_rules(&mut d);
    provider_rules(&mut d);
    flow_rules(&mut d);
    triage_rules(&mut d);
    side_rules(&mut d);
    survey_rules(&mut d);
    journey_rules(&mut d);
    report_rules(&mut d);
    privacy_examples(&mut d);
    d
}

/// A customer's export and erasure: examples built from the examples of the
/// records an export holds (set before this runs).
fn privacy_examples(d: &mut Value) {
    let s = "/components/schemas";
    let example = |d: &Value, name: &str| {
        d.pointer(&format!("{s}/{name}/example"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let at = "2026-12-01T09:15:00+00:00";
    let ticket =
        json!({ "ticket": example(d, "TicketOut"), "messages": [example(d, "MessageOut")] });
    let survey = json!({ "id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b", "kind": "csat",
        "ticket_id": "01937a2b-0000-7000-8000-000000000042", "language": "ru", "sent_at": at,
        "score": 5, "comment": "Спасибо, всё быстро решили!", "answered_at": at });
    let visitor = json!({ "id": "01937b10-9999-7e4f-8a5b-6c7d8e9f0a1b", "name": "Somchai Jaidee",
        "email": "somchai@example.com", "phone": null, "language": "th", "external_user_id": null,
        "page_url": "https://shop.example/orders", "page_title": "My orders",
        "last_seen_at": at, "created_at": at });
    let export = json!({ "format": crate::privacy_api::FORMAT, "exported_at": at,
        "customer": example(d, "CustomerOut"), "tickets": [ticket.clone()],
        "orders": [example(d, "OrderOut")], "touchpoints": [example(d, "TouchpointOut")],
        "surveys": [survey.clone()], "chat_visitors": [visitor.clone()] });
    let erasure = json!({ "customer_id": "01937a2b-1111-7000-8000-000000000007", "erased_at": at,
        "profiles": 2, "identities": 3, "tickets": 4, "messages": 27, "attachments": 2,
        "orders": 3, "touchpoints": 118, "events": 96, "chat_visitors": 1, "files_removed": 6,
        "jobs_removed": 5, "held_removed": 0 });
    for (name, example) in [
        ("ExportedTicket", ticket),
        ("ExportedSurvey", survey),
        ("ExportedVisitor", visitor),
        ("CustomerExport", export),
        ("ErasureOut", erasure),
    ] {
        set(d, &format!("{s}/{name}/example"), example);
    }
}

/// The journey: what a shop may push (the pushed kinds, an RFC 3339 time, an
/// http(s) page, attribute keys as custom fields' keys), the rules' lengths,
/// and examples.
fn journey_rules(d: &mut Value) {
    use domain::journey::{Kind, MAX_ATTRIBUTE_CHARS, MAX_ATTRIBUTES, Stage};
    let s = "/components/schemas";
    let t = format!("{s}/TouchpointIn/properties");
    set(
        d,
        &format!("{t}/id"),
        line(engine::journey::MAX_ID_CHARS as u32),
    );
    set(
        d,
        &format!("{t}/kind"),
        enum_of(&names(Kind::PUSHED, Kind::as_str)),
    );
    set(
        d,
        &format!("{t}/at"),
        json!({ "type": ["string", "null"], "format": "date-time", "pattern": TIME }),
    );
    set(
        d,
        &format!("{t}/name"),
        nullable(string(
            &no_controls(),
            engine::journey::MAX_NAME_CHARS as u32,
        )),
    );
    set(
        d,
        &format!("{t}/url"),
        nullable(string(&format!("^https?://[^{WS}{CC}]*$"), 2000)),
    );
    set(
        d,
        &format!("{t}/attributes"),
        json!({
            "type": "object", "maxProperties": MAX_ATTRIBUTES,
            "propertyNames": { "pattern": "^[a-z][a-z0-9_]{0,63}$" },
            "additionalProperties": string(&no_controls(), MAX_ATTRIBUTE_CHARS as u32),
        }),
    );
    set(
        d,
        &format!("{t}/customer"),
        json!({ "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/CustomerIn" }] }),
    );
    set(
        d,
        &format!("{t}/customer_id"),
        json!({ "type": ["string", "null"], "format": "uuid" }),
    );
    let r = format!("{s}/StageRuleIo/properties");
    set(
        d,
        &format!("{r}/kind"),
        nullable(enum_of(&names(Kind::ALL, Kind::as_str))),
    );
    set(
        d,
        &format!("{r}/stage"),
        enum_of(&names(Stage::ALL, Stage::as_str)),
    );
    for f in ["channel", "attribute", "value"] {
        set(
            d,
            &format!("{r}/{f}"),
            nullable(string(&no_controls(), MAX_ATTRIBUTE_CHARS as u32)),
        );
    }
    let at = "2026-12-01T09:15:00+00:00";
    let push = json!({ "id": "pv-20261201-0042", "kind": "page_view",
        "customer": { "identities": [{ "kind": "email", "value": "anna@example.com" }] },
        "at": at, "name": "Чайник Smart Kettle 2", "url": "https://shop.example/p/kettle-2",
        "attributes": { "page_type": "product", "category": "kitchen" } });
    let out = json!({ "id": "01937a2d-5c2f-7e31-8d22-6b0f4a1c8d32",
        "customer_id": "01937a2b-1111-7000-8000-000000000007", "at": at, "kind": "page_view",
        "stage": "consideration", "emotion": null, "channel": null, "ticket_id": null,
        "reference": null, "name": "Чайник Smart Kettle 2", "url": "https://shop.example/p/kettle-2",
        "attributes": { "page_type": "product", "category": "kitchen" } });
    let rule = json!({ "kind": "page_view", "channel": null, "attribute": "page_type",
        "value": "pricing", "stage": "consideration" });
    let link = json!({ "id": "01937a2d-7777-7e31-8d22-6b0f4a1c8d32", "code": "x7Kq2mPa",
        "url": "https://desk.example/l/x7Kq2mPa", "target": "https://shop.example/spring-sale",
        "campaign": "spring", "name": "Spring sale, email", "customer_id": null, "clicks": 42,
        "created_at": at, "disabled_at": null });
    let clicker = json!({ "customer_id": "01937a2b-1111-7000-8000-000000000007", "clicks": 2 });
    let top = json!({ "key": "page_view:Pricing", "customers": 120 });
    let stage = json!({ "stage": "consideration", "customers": 240, "touchpoints": 1310,
        "conversion": 0.77, "median_seconds": 259200, "emotion": 12.5, "top": [top.clone()] });
    let pain = json!({ "key": "shipment:delayed", "complaints": 31, "low_scores": 12,
        "churned": 4, "total": 47 });
    // An http(s) address with a host and no user name, spaces or control
    // characters (`domain::links::parse_url`).
    let url = format!("^[Hh][Tt][Tt][Pp][Ss]?://[^{WS}{CC}@/?#:]+(:[0-9]+)?([/?#][^{WS}{CC}]*)?$");
    set(
        d,
        &format!("{s}/JourneySettingsIo/properties/link_targets"),
        list(
            string(&url, domain::links::MAX_URL_CHARS as u32),
            domain::links::MAX_TARGETS as u32,
        ),
    );
    let l = format!("{s}/LinkIn/properties");
    set(
        d,
        &format!("{l}/target"),
        string(&url, domain::links::MAX_URL_CHARS as u32),
    );
    set(
        d,
        &format!("{l}/campaign"),
        nullable(string(
            &no_controls(),
            engine::tracking::MAX_CAMPAIGN_CHARS as u32,
        )),
    );
    set(
        d,
        &format!("{l}/name"),
        nullable(string(
            &no_controls(),
            engine::tracking::MAX_NAME_CHARS as u32,
        )),
    );
    set(
        d,
        &format!("{l}/customer_id"),
        json!({ "type": ["string", "null"], "format": "uuid" }),
    );
    for (name, example) in [
        ("TouchpointIn", push.clone()),
        ("TouchpointPush", json!({ "touchpoints": [push] })),
        ("PushOut", json!({ "recorded": 1, "repeated": 0 })),
        ("TouchpointOut", out.clone()),
        (
            "Page_TouchpointOut",
            json!({ "items": [out], "next_cursor": null }),
        ),
        ("StageRuleIo", rule.clone()),
        (
            "JourneySettingsIo",
            json!({ "tracking": true, "rules": [rule], "link_targets": ["https://shop.example/"] }),
        ),
        (
            "LinkIn",
            json!({ "target": "https://shop.example/spring-sale", "campaign": "spring",
            "name": "Spring sale, email", "customer_id": null }),
        ),
        ("LinkOut", link.clone()),
        (
            "Page_LinkOut",
            json!({ "items": [link.clone()], "next_cursor": null }),
        ),
        ("LinkClicker", clicker.clone()),
        (
            "LinkDetail",
            json!({ "link": link, "customers": [clicker] }),
        ),
        ("MapTouchpoint", top.clone()),
        ("MapStage", stage.clone()),
        ("MapPain", pain.clone()),
        (
            "MapSegment",
            json!({ "value": "telegram", "customers": 312 }),
        ),
        ("SegmentByIo", json!("first_channel")),
        (
            "JourneyMapOut",
            json!({ "segment_by": "first_channel", "segment": "telegram",
            "segments": [{ "value": "telegram", "customers": 312 }, { "value": "email", "customers": 205 }],
            "customers": 312, "stages": [stage], "pain_points": [pain] }),
        ),
    ] {
        set(d, &format!("{s}/{name}/example"), example);
    }
}

/// Surveys: examples.
fn survey_rules(d: &mut Value) {
    let s = "/components/schemas";
    let one = json!({
        "id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b", "kind": "csat",
        "ticket_id": "01937a2b-0000-7000-8000-000000000042",
        "customer_id": "01937a2b-1111-7000-8000-000000000007", "language": "ru",
        "score": 5, "comment": "Спасибо, всё быстро решили!",
        "sent_at": "2026-11-30T10:00:00+00:00", "answered_at": "2026-11-30T10:12:00+00:00",
    });
    for (name, example) in [
        (
            "SurveySettingsIo",
            json!({ "csat": { "enabled": true, "on_low": "reopen" },
                    "nps": { "enabled": true, "after_days": 30, "every_days": 90 } }),
        ),
        ("CsatIo", json!({ "enabled": true, "on_low": "reopen" })),
        (
            "NpsIo",
            json!({ "enabled": true, "after_days": 30, "every_days": 90 }),
        ),
        ("LowActionIo", json!("reopen")),
        (
            "DigestSettingsIo",
            json!({ "weekly": true, "monthly": false }),
        ),
        (
            "CriterionIo",
            json!({ "key": "solution", "label": "Решил вопрос клиента", "weight": 3, "scale": 5 }),
        ),
        (
            "ScorecardIn",
            json!({ "name": "Чат", "criteria": [
                { "key": "greeting", "label": "Поздоровался по имени", "weight": 1, "scale": 2 },
                { "key": "solution", "label": "Решил вопрос клиента", "weight": 3, "scale": 5 } ], "active": true }),
        ),
        (
            "ScorecardOut",
            json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01", "name": "Чат", "criteria": [
                { "key": "greeting", "label": "Поздоровался по имени", "weight": 1, "scale": 2 },
                { "key": "solution", "label": "Решил вопрос клиента", "weight": 3, "scale": 5 } ],
                "active": true, "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:00:00Z" }),
        ),
        (
            "ScorecardList",
            json!({ "items": [{ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01", "name": "Чат", "criteria": [
                { "key": "solution", "label": "Решил вопрос клиента", "weight": 3, "scale": 5 } ],
                "active": true, "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:00:00Z" }] }),
        ),
        (
            "ReviewIn",
            json!({ "scorecard_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01", "scores": { "greeting": 2, "solution": 4 }, "comment": "Хорошо, но без ссылки на статью" }),
        ),
        (
            "ReviewOut",
            json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c02", "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b03",
                "agent_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c03", "reviewer_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c04",
                "scorecard_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c01", "scores": { "greeting": 2, "solution": 4 },
                "score": 81.25, "comment": "Хорошо, но без ссылки на статью",
                "created_at": "2026-11-25T15:00:00Z", "updated_at": "2026-11-25T15:00:00Z" }),
        ),
        ("ReviewList", json!({ "items": [], "next_cursor": null })),
        (
            "AgentQualityOut",
            json!({ "agent_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c03", "name": "Ольга", "reviews": 4, "score": 87.5 }),
        ),
        (
            "AgentQualityList",
            json!({ "items": [{ "agent_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c03", "name": "Ольга", "reviews": 4, "score": 87.5 }] }),
        ),
        (
            "SampleIn",
            json!({ "per_agent": 3, "from": "2026-11-23", "to": "2026-11-30" }),
        ),
        (
            "SampledOut",
            json!({ "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9b03", "number": 1042, "subject": "Где мой заказ?",
                "agent_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9c03", "agent_name": "Ольга", "drawn_at": "2026-11-30T08:00:00Z" }),
        ),
        ("SampleList", json!({ "items": [] })),
        ("SurveyOut", one.clone()),
        ("SurveyList", json!({ "items": [one], "next_cursor": null })),
    ] {
        set(d, &format!("{s}/{name}/example"), example);
    }
}

/// Reports: examples (the figures of one team in a month).
fn report_rules(d: &mut Value) {
    let s = "/components/schemas";
    let row = json!({
        "key": "01937a2b-2222-7000-8000-000000000003", "label": "Вторая линия",
        "created": 120, "solved": 97, "backlog": 23,
        "frt_median_s": 1800.0, "frt_p90_s": 7200.0, "resolution_median_s": 86400.0,
        "csat": 0.91, "nps": 42.0, "fcr": 0.74, "escalation_rate": 0.08,
        "bot_containment": null, "sla_compliance": 0.96,
        "csat_answers": 44, "nps_answers": 12, "bot_conversations": 0, "sla_targets": 210,
    });
    let mut total = row.clone();
    total["key"] = Value::Null;
    total["label"] = Value::Null;
    for (name, example) in [
        ("GroupByIo", json!("team")),
        ("KpiRowOut", row.clone()),
        (
            "KpiReportOut",
            json!({ "from": "2026-11-01", "to": "2026-12-01", "group_by": "team",
                    "items": [row], "total": total }),
        ),
    ] {
        set(d, &format!("{s}/{name}/example"), example);
    }
}

/// Side conversations: exactly one party (a team or an address), the lengths
/// `engine::side` checks, and examples.
fn side_rules(d: &mut Value) {
    use engine::side::{MAX_BODY, MAX_SUBJECT};
    let s = "/components/schemas";
    let body =
        json!({ "type": "string", "maxLength": MAX_BODY, "pattern": format!("[^{WS}{CC}]") });
    set(
        d,
        &format!("{s}/SideIn/properties/subject"),
        line(MAX_SUBJECT as u32),
    );
    set(d, &format!("{s}/SideIn/properties/body"), body.clone());
    set(
        d,
        &format!("{s}/SideIn/properties/to"),
        nullable(string(&email(), 254)),
    );
    set(
        d,
        &format!("{s}/SideIn/oneOf"),
        json!([
            { "required": ["team_id"], "properties": { "team_id": { "type": "string" } } },
            { "required": ["to"], "properties": { "to": { "type": "string" } } },
        ]),
    );
    set(d, &format!("{s}/SideMessageIn/properties/body"), body);
    let at = "2026-11-30T09:15:00+00:00";
    let message = json!({
        "id": "01937a2c-4b1e-7d20-8c11-5a9e3f0b7c21", "author_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d01",
        "from": null, "outside": false,
        "body": "Добрый день! Посылка по заказу 1042 вернулась к вам на склад?",
        "delivery": "sent", "delivery_error": null, "created_at": at,
    });
    let side = json!({
        "id": "01937a2c-4b1e-7d20-8c11-5a9e3f0b7c20", "ticket_id": "01937a2b-0000-7000-8000-000000000042",
        "subject": "Возврат по заказу 1042", "team_id": null, "to": "warehouse@partner.example",
        "account_id": "01936f00-1111-7222-8333-444455556666", "open": true,
        "created_by": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d01", "created_at": at, "updated_at": at,
        "messages": [message.clone()],
    });
    for (name, example) in [
        (
            "SideIn",
            json!({ "subject": "Возврат по заказу 1042", "body": "Посылка вернулась к вам на склад?", "to": "warehouse@partner.example" }),
        ),
        (
            "SideMessageIn",
            json!({ "body": "Спасибо, ждём трек-номер." }),
        ),
        ("SidePatch", json!({ "open": false })),
        ("SideMessageOut", message),
        ("SideOut", side.clone()),
        ("SideList", json!({ "items": [side] })),
    ] {
        set(d, &format!("{s}/{name}/example"), example);
    }
}

/// Triage categories: a key as a tag, a name, a description and examples
/// within their bounds; a correction names a key.
fn triage_rules(d: &mut Value) {
    use domain::assist::{MAX_DESCRIPTION, MAX_EXAMPLE, MAX_EXAMPLES};
    use domain::ticket::Priority;
    let c = "/components/schemas/CategoryIn/properties";
    set(d, &format!("{c}/key"), string(&tag(), 200));
    set(d, &format!("{c}/name"), line(100));
    set(
        d,
        &format!("{c}/description"),
        json!({ "type": "string", "maxLength": MAX_DESCRIPTION }),
    );
    set(
        d,
        &format!("{c}/examples"),
        list(
            json!({ "type": "string", "maxLength": MAX_EXAMPLE }),
            MAX_EXAMPLES as u32,
        ),
    );
    set(
        d,
        &format!("{c}/team_id"),
        json!({ "type": ["string", "null"], "format": "uuid" }),
    );
    set(
        d,
        &format!("{c}/priority"),
        nullable(enum_of(&names(Priority::ALL, Priority::as_str))),
    );
    set(
        d,
        "/components/schemas/CorrectionIn/properties/category",
        string(&tag(), 200),
    );
    set(
        d,
        "/components/schemas/CategoryOut/properties/priority",
        nullable(enum_of(&names(Priority::ALL, Priority::as_str))),
    );
    let at = "2026-11-30T09:15:02.412Z";
    let category = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9f11", "key": "delivery", "name": "Доставка",
        "description": "Где заказ, сроки и способы доставки", "examples": ["где мой заказ", "когда привезут посылку"],
        "team_id": null, "priority": "normal", "created_at": at, "updated_at": at });
    let triage = json!({ "message_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a15", "lang": "ru", "lang_confidence": 1.0,
        "category": "delivery", "category_confidence": 0.91, "urgent": true, "urgency_confidence": 0.8,
        "sentiment": "negative", "sentiment_confidence": 0.7, "suggested_team_id": null, "suggested_priority": "urgent",
        "corrected_by": null, "created_at": at, "updated_at": at });
    for (name, example) in [
        (
            "CategoryIn",
            json!({ "key": "delivery", "name": "Доставка", "description": "Где заказ, сроки и способы доставки",
                    "examples": ["где мой заказ", "когда привезут посылку"], "team_id": null, "priority": "normal" }),
        ),
        ("CategoryOut", category.clone()),
        ("CategoryList", json!({ "items": [category] })),
        ("TriageOut", triage.clone()),
        ("TriageList", json!({ "items": [triage] })),
        ("CorrectionIn", json!({ "category": "returns" })),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
}

/// The bot's text: something visible, at most `MAX_TEXT` characters; a
/// language tag or null; a channel or null; a threshold between 0 and 1.
/// A model's name (`domain::assist::valid_model`).
pub const MODEL_NAME: &str = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$";

fn provider_rules(d: &mut Value) {
    use domain::assist::{EMBEDDING_WEIGHT, MAX_TOKENS, PROVIDER_TIMEOUT_MS};
    for schema in ["EmbeddingsProviderIn", "ChatProviderIn"] {
        let c = format!("/components/schemas/{schema}/properties");
        set(d, &format!("{c}/base_url"), string(API_BASE, 300));
        set(d, &format!("{c}/model"), string(MODEL_NAME, 200));
        set(
            d,
            &format!("{c}/api_key"),
            nullable(string("^[!-~]{0,500}$", 500)),
        );
        set(
            d,
            &format!("{c}/timeout_ms"),
            json!({ "type": "integer", "minimum": PROVIDER_TIMEOUT_MS.start(), "maximum": PROVIDER_TIMEOUT_MS.end() }),
        );
    }
    set(
        d,
        "/components/schemas/EmbeddingsProviderIn/properties/weight",
        json!({ "type": "number", "minimum": EMBEDDING_WEIGHT.start(), "maximum": EMBEDDING_WEIGHT.end() }),
    );
    set(
        d,
        "/components/schemas/ChatProviderIn/properties/max_tokens",
        json!({ "type": "integer", "minimum": MAX_TOKENS.start(), "maximum": MAX_TOKENS.end() }),
    );
    let embeddings = json!({ "base_url": "http://127.0.0.1:8765/v1", "model": "multilingual-e5-small",
        "timeout_ms": 10000, "weight": 4.0 });
    let chat = json!({ "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini",
        "timeout_ms": 30000, "max_tokens": 500 });
    let with = |v: &Value, k: &str, x: Value| {
        let mut v = v.clone();
        v[k] = x;
        v
    };
    let embeddings_out = with(&embeddings, "api_key_set", json!(false));
    let chat_out = with(&chat, "api_key_set", json!(true));
    let chat_in = with(&chat, "api_key", json!("sk-proj-3Jx9cQ2vT8mN4pL7wR1yZ5bK"));
    let probe = json!({ "ok": true, "millis": 41, "dimensions": 384, "error": null });
    for (name, example) in [
        ("EmbeddingsProviderIn", embeddings.clone()),
        ("ChatProviderIn", chat_in.clone()),
        (
            "ProvidersIn",
            json!({ "embeddings": embeddings, "chat": chat_in }),
        ),
        ("EmbeddingsProviderOut", embeddings_out.clone()),
        ("ChatProviderOut", chat_out.clone()),
        (
            "ProvidersOut",
            json!({ "embeddings": embeddings_out, "chat": chat_out }),
        ),
        ("ProviderProbeOut", probe.clone()),
        (
            "ProvidersCheckOut",
            json!({ "embeddings": probe, "chat": { "ok": false, "millis": 10002, "dimensions": null,
                "error": "no answer within 10000 ms" } }),
        ),
        (
            "AnswerSourceOut",
            json!({ "faq_id": null, "article_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9f02",
                "title": "Сроки доставки", "url": "https://desk.shop.example/help/shop/ru/articles/01936f1e-7b2a-7c41-9a55-0d3c7e2b9f02-sroki-dostavki" }),
        ),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
}

fn assist_rules(d: &mut Value) {
    use domain::assist::{HandoffReason, MAX_TEXT};
    use domain::ticket::Channel;
    let a = "/components/schemas/AnswerIn/properties";
    set(
        d,
        &format!("{a}/text"),
        json!({ "type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": visible() }),
    );
    set(
        d,
        &format!("{a}/lang"),
        nullable(json!({ "type": "string", "pattern": language() })),
    );
    set(
        d,
        &format!("{a}/channel"),
        nullable(enum_of(&names(Channel::ALL, Channel::as_str))),
    );
    set(
        d,
        "/components/schemas/AssistSettingsIo/properties/threshold",
        json!({ "type": "number", "minimum": 0, "maximum": 1 }),
    );
    let answer = json!({ "decision": "answer", "faq_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9f01", "article_id": null,
        "answer": "Откройте «Мои заказы» и нажмите «Отследить».", "url": null, "confidence": 0.87, "lang": "ru",
        "generated": false, "sources": [{ "faq_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9f01", "article_id": null,
            "title": "Где мой заказ?", "url": null }] });
    let handoff = json!({ "decision": "handoff", "reason": HandoffReason::LowConfidence.as_str(), "confidence": 0.31,
        "lang": "ru", "suggested_team_id": null });
    let o = "/components/schemas/AnswerOut/oneOf";
    set(
        d,
        &format!("{o}/1/properties/reason"),
        enum_of(&names(HandoffReason::ALL, HandoffReason::as_str)),
    );
    set(d, &format!("{o}/0/example"), answer.clone());
    set(d, &format!("{o}/1/example"), handoff);
    set(
        d,
        &format!("{o}/2/example"),
        json!({ "decision": "flow", "flow": "order-status", "confidence": 0.93, "lang": "ru" }),
    );
    for (name, example) in [
        (
            "AnswerIn",
            json!({ "text": "скока ждать посылку", "lang": null, "channel": "chat" }),
        ),
        ("AnswerOut", answer),
        (
            "AssistSettingsIo",
            json!({ "bot_enabled": true, "bot_on_email": false, "threshold": 0.7, "handoff_team_id": null }),
        ),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
    let kinds = ["solution", "reply", "faq", "article"];
    set(
        d,
        "/components/schemas/ReplySuggestionOut/properties/kind",
        enum_of(&kinds),
    );
    let suggestion = json!({ "kind": "solution", "title": "Заказ 5531 не пришёл",
        "text": "Курьерская служба подтвердила доставку на завтра; трек-номер — в письме.",
        "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a10", "ticket_number": 1042,
        "message_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a15", "faq_id": null, "article_id": null, "url": null });
    set(
        d,
        "/components/schemas/ReplySuggestionOut/example",
        suggestion.clone(),
    );
    set(
        d,
        "/components/schemas/ReplySuggestionList/example",
        json!({ "items": [suggestion] }),
    );
}

/// Outreach rules: statuses of the event's kind (none for at-risk), texts per
/// language with known placeholders; settings' times as `HH:MM`.
fn outreach_rules(d: &mut Value) {
    use domain::order::{OrderStatus, ShipmentStatus};
    use domain::outreach::{MAX_TEXT, OutreachOn};
    let r = "/components/schemas/OutreachRuleIn";
    set(d, &format!("{r}/properties/name"), line(100));
    set(
        d,
        &format!("{r}/properties/on"),
        enum_of(&names(OutreachOn::ALL, OutreachOn::as_str)),
    );
    set(
        d,
        &format!("{r}/properties/statuses"),
        list(json!({ "type": "string" }), 10),
    );
    let text = json!({ "type": "string", "maxLength": MAX_TEXT,
        "allOf": [{ "pattern": visible() }, { "pattern": template() }] });
    set(
        d,
        &format!("{r}/properties/texts"),
        json!({ "type": "object", "minProperties": 1, "maxProperties": 20,
                "propertyNames": { "pattern": language() }, "additionalProperties": text }),
    );
    let of = |on: OutreachOn, statuses: Value| json!({ "properties": { "on": { "enum": [on.as_str()] }, "statuses": statuses } });
    set(
        d,
        &format!("{r}/oneOf"),
        json!([
            of(
                OutreachOn::OrderStatus,
                list(enum_of(&names(OrderStatus::ALL, OrderStatus::as_str)), 10)
            ),
            of(
                OutreachOn::Shipment,
                list(
                    enum_of(&names(ShipmentStatus::ALL, ShipmentStatus::as_str)),
                    10
                )
            ),
            of(
                OutreachOn::AtRisk,
                json!({ "type": "array", "maxItems": 0 })
            ),
        ]),
    );
    let time = json!({ "type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$" });
    set(
        d,
        "/components/schemas/QuietHoursIo/properties/from",
        time.clone(),
    );
    set(d, "/components/schemas/QuietHoursIo/properties/to", time);
    set(
        d,
        "/components/schemas/OutreachSettingsIo/properties/daily_limit",
        json!({ "type": "integer", "minimum": 0, "maximum": 20 }),
    );
    let at = "2026-11-30T09:15:02.412Z";
    let rule = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9e01", "name": "Shipped: tracking",
        "on": "order.status_changed", "statuses": ["shipped"],
        "texts": { "en": "Your order {{order.number}} is on its way: {{order.tracking_url}}",
                   "ru": "Заказ {{order.number}} в пути: {{order.tracking_url}}" },
        "active": true, "created_at": at, "updated_at": at });
    let settings = json!({ "quiet_hours": { "from": "21:00", "to": "09:00" }, "daily_limit": 2, "upsell": true });
    for (name, example) in [
        (
            "OutreachRuleIn",
            json!({ "name": "Shipped: tracking", "on": "order.status_changed", "statuses": ["shipped"],
                    "texts": { "en": "Your order {{order.number}} is on its way: {{order.tracking_url}}" } }),
        ),
        ("OutreachRuleOut", rule.clone()),
        ("OutreachRuleList", json!({ "items": [rule] })),
        ("OutreachSettingsIo", settings),
        (
            "OutreachList",
            json!({ "items": [{ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9e02", "rule_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9e01",
                "order_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d01", "state": "sent", "reason": null,
                "ticket_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a14", "created_at": at, "updated_at": at }] }),
        ),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
}

/// An amount `domain::order::parse_amount` takes.
const AMOUNT: &str = r"^[0-9]{1,15}(\.[0-9]{1,4})?$";
/// An RFC 3339 time as `domain::Timestamp::parse_rfc3339` reads it.
const TIME: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$";

fn order_rules(d: &mut Value) {
    use domain::order::{MAX_ITEMS, MAX_SHIPMENTS, OrderStatus, ShipmentStatus};
    let time = || json!({ "type": ["string", "null"], "format": "date-time", "pattern": TIME });
    let o = "/components/schemas/OrderIn/properties";
    set(d, &format!("{o}/external_id"), line(100));
    set(d, &format!("{o}/number"), nullable(line(100)));
    set(d, &format!("{o}/currency"), string("^[A-Za-z]{3}$", 3));
    set(d, &format!("{o}/total"), string(AMOUNT, 20));
    set(
        d,
        &format!("{o}/status"),
        nullable(enum_of(&names(OrderStatus::ALL, OrderStatus::as_str))),
    );
    set(d, &format!("{o}/status_at"), time());
    set(d, &format!("{o}/placed_at"), time());
    set(
        d,
        &format!("{o}/customer"),
        json!({ "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/CustomerIn" }] }),
    );
    set(
        d,
        &format!("{o}/customer_id"),
        json!({ "type": ["string", "null"], "format": "uuid" }),
    );
    set(
        d,
        &format!("{o}/items"),
        nullable(list(
            json!({ "$ref": "#/components/schemas/LineItemIo" }),
            MAX_ITEMS as u32,
        )),
    );
    set(
        d,
        &format!("{o}/shipments"),
        list(
            json!({ "$ref": "#/components/schemas/ShipmentIn" }),
            MAX_SHIPMENTS as u32,
        ),
    );
    // A new order needs its customer; a known one keeps its own.
    set(
        d,
        "/components/schemas/OrderIn/anyOf",
        json!([
            { "required": ["customer"], "properties": { "customer": { "type": "object" } } },
            { "required": ["customer_id"], "properties": { "customer_id": { "type": "string" } } }
        ]),
    );
    let i = "/components/schemas/LineItemIo/properties";
    set(d, &format!("{i}/sku"), line(100));
    set(d, &format!("{i}/name"), line(300));
    set(
        d,
        &format!("{i}/quantity"),
        json!({ "type": "integer", "minimum": 1, "maximum": 100_000 }),
    );
    set(d, &format!("{i}/price"), string(AMOUNT, 20));
    let s = "/components/schemas/ShipmentIn/properties";
    set(d, &format!("{s}/carrier"), line(100));
    set(d, &format!("{s}/tracking_number"), line(100));
    set(
        d,
        &format!("{s}/tracking_url"),
        nullable(string(&format!("^https?://[^{WS}{CC}]*$"), 2000)),
    );
    set(
        d,
        &format!("{s}/status"),
        enum_of(&names(ShipmentStatus::ALL, ShipmentStatus::as_str)),
    );
    set(d, &format!("{s}/at"), time());
    set(d, &format!("{s}/note"), nullable(line(500)));
    set(d, "/components/schemas/StoreIn/properties/name", line(100));
    set(
        d,
        "/components/schemas/TicketOrderIn/properties/order_id",
        json!({ "type": ["string", "null"], "format": "uuid" }),
    );
    set(
        d,
        "/components/schemas/PatchStoreIn/properties/name",
        nullable(line(100)),
    );
}

fn order_examples(d: &mut Value) {
    let at = "2026-11-30T09:15:02.412Z";
    let order_in = json!({
        "external_id": "5531", "customer": { "name": "Анна", "email": "anna@example.com" },
        "status": "shipped", "currency": "RUB", "total": "4990.00", "placed_at": "2026-11-20T10:00:00Z",
        "items": [{ "sku": "SPK-1", "name": "Умная колонка", "quantity": 1, "price": "4990.00" }],
        "shipments": [{ "carrier": "CDEK", "tracking_number": "RU123456789",
            "tracking_url": "https://cdek.example/track/RU123456789", "status": "in_transit" }]
    });
    let order_out = json!({
        "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d01", "external_id": "5531", "number": "5531",
        "customer_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9a13", "status": "shipped", "currency": "RUB",
        "total": "4990.00", "placed_at": "2026-11-20T10:00:00.000Z",
        "items": [{ "sku": "SPK-1", "name": "Умная колонка", "quantity": 1, "price": "4990.00" }],
        "shipments": [{ "carrier": "CDEK", "tracking_number": "RU123456789",
            "tracking_url": "https://cdek.example/track/RU123456789", "status": "in_transit",
            "events": [{ "status": "in_transit", "at": at }] }],
        "history": [{ "status": "paid", "at": "2026-11-20T10:00:00.000Z" }, { "status": "shipped", "at": at }],
        "version": 2, "created_at": "2026-11-20T10:00:01.000Z", "updated_at": at
    });
    let store = json!({ "id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d02", "name": "Shop", "active": true,
        "webhook_url": "https://support.shop.example/hooks/store/01936f1e-7b2a-7c41-9a55-0d3c7e2b9d02",
        "signing_secret": null, "created_at": at, "updated_at": at });
    for (name, example) in [
        ("OrderIn", order_in),
        ("OrderOut", order_out.clone()),
        (
            "Page_OrderOut",
            json!({ "items": [order_out.clone()], "next_cursor": null }),
        ),
        ("TicketOrder", json!({ "order": order_out })),
        (
            "UpsellList",
            json!({ "enabled": true, "items": [
                { "sku": "FLT-1", "name": "Water filter", "kind": "reorder",
                  "reason": "bought 3 times, about every 30 days; the last 31 days ago",
                  "times": 3, "every_days": 30, "last_days": 31, "with": null, "customers": null },
                { "sku": "CBL-2", "name": "USB-C cable, 2 m", "kind": "bought_with",
                  "reason": "12 customers who bought Smart speaker also bought it",
                  "times": null, "every_days": null, "last_days": null, "with": "Smart speaker", "customers": 12 }] }),
        ),
        ("StoreIn", json!({ "name": "Shop" })),
        (
            "TicketOrderIn",
            json!({ "order_id": "01936f1e-7b2a-7c41-9a55-0d3c7e2b9d01" }),
        ),
        ("PatchStoreIn", json!({ "rotate_secret": true })),
        ("StoreOut", store.clone()),
        ("StoreList", json!({ "items": [store] })),
    ] {
        set(d, &format!("/components/schemas/{name}/example"), example);
    }
}

/// The OpenAPI document as served.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// Guided flows (`domain::flow`): each step's shape; texts per language with
/// something visible and only known placeholders.
fn flow_rules(d: &mut Value) {
    use domain::flow::{MAX_PHRASE, MAX_PHRASES, MAX_STEPS, MAX_TEXT, PLACEHOLDERS};
    let names: Vec<String> = PLACEHOLDERS
        .iter()
        .map(|p| p.replace('.', "\\."))
        .chain(["answer\\.[a-z0-9_]{1,32}".to_owned()])
        .collect();
    let slots = format!(
        "^(?:[^{{]|\\{{[^{{]|\\{{$|\\{{\\{{[{WS}]*(?:{})[{WS}]*\\}}\\}})*$",
        names.join("|")
    );
    let max = MAX_TEXT as u32;
    let body = |max: u32| {
        json!({ "allOf": [
            { "type": "string", "maxLength": max, "pattern": format!("[^{WS}{CC}]") },
            { "type": "string", "pattern": slots.clone() }
        ] })
    };
    let texts = json!({
        "type": "object", "minProperties": 1, "maxProperties": 20,
        "propertyNames": { "pattern": language() },
        "additionalProperties": body(max),
    });
    let var = json!({ "type": "string", "pattern": "^[a-z0-9_]{1,32}$" });
    let step = |kind: &str, required: &[&str], props: Value| {
        let mut p = props;
        p["type"] = json!({ "type": "string", "enum": [kind] });
        let mut req = vec!["type"];
        req.extend(required);
        json!({ "type": "object", "additionalProperties": false, "required": req, "properties": p })
    };
    let mut ask = step(
        "ask",
        &["var", "prompt"],
        json!({
            "var": var, "prompt": texts,
            "expect": enum_of(&["text", "order_number", "choice"]),
            "choices": { "type": "array", "items": { "type": "string" } },
            "skip_if_order": { "type": "boolean" },
        }),
    );
    ask["allOf"] = json!([
        { "if": { "required": ["expect"], "properties": { "expect": { "const": "choice" } } },
          "then": { "required": ["choices"], "properties": { "choices": { "minItems": 2, "maxItems": 20, "items": line(100) } } },
          "else": { "properties": { "choices": { "maxItems": 0 } } } },
        { "if": { "required": ["skip_if_order"], "properties": { "skip_if_order": { "const": true } } },
          "then": { "required": ["expect"], "properties": { "expect": { "const": "order_number" } } } }
    ]);
    let uuid = json!({ "type": ["string", "null"], "format": "uuid" });
    let steps = json!({
        "type": "array", "minItems": 1, "maxItems": MAX_STEPS,
        "items": { "oneOf": [
            ask,
            step("find_order", &["not_found"], json!({ "var": nullable(var.clone()), "not_found": texts })),
            step("say", &["text"], json!({ "text": texts })),
            step("file_ticket", &["subject", "note"], json!({
                "team_id": uuid, "subject": { "allOf": [line(200), { "type": "string", "pattern": slots }] },
                "note": body(max),
                "tags": { "type": "array", "maxItems": 50, "items": string(&tag(), 64) },
            })),
            step("handoff", &["text"], json!({ "team_id": uuid, "text": texts })),
        ] },
    });
    let f = "/components/schemas/FlowIn/properties";
    set(d, &format!("{f}/key"), string(&tag(), 64));
    set(d, &format!("{f}/name"), line(100));
    set(
        d,
        &format!("{f}/phrases"),
        json!({ "type": "array", "minItems": 1, "maxItems": MAX_PHRASES,
                "items": { "type": "string", "maxLength": MAX_PHRASE },
                "contains": { "type": "string", "pattern": visible() } }),
    );
    set(d, &format!("{f}/steps"), steps.clone());
    set(d, "/components/schemas/FlowOut/properties/steps", steps);
    let at = "2026-11-30T09:15:02.412Z";
    let flow_in = json!({ "key": "order-status", "name": "Статус заказа", "active": true,
        "phrases": ["где мой заказ", "когда привезут заказ"],
        "steps": [
            { "type": "ask", "var": "number", "expect": "order_number", "skip_if_order": true,
              "prompt": { "ru": "Назовите номер заказа.", "en": "Your order number, please?" } },
            { "type": "find_order", "var": "number", "not_found": { "ru": "Не нахожу заказ {{answer.number}}." } },
            { "type": "say", "text": { "ru": "Заказ {{order.number}}: {{order.status}}. {{order.tracking_url}}" } }
        ] });
    let mut flow_out = flow_in.clone();
    flow_out["id"] = json!("01936f1e-7b2a-7c41-9a55-0d3c7e2b9f21");
    flow_out["created_at"] = json!(at);
    flow_out["updated_at"] = json!(at);
    set(d, "/components/schemas/FlowIn/example", flow_in);
    set(d, "/components/schemas/FlowOut/example", flow_out.clone());
    set(
        d,
        "/components/schemas/FlowList/example",
        json!({ "items": [flow_out] }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::identity::{EmailAddress, Identity, IdentityKind, normalize_language};

    fn re(p: &str) -> regex::Regex {
        regex::Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    /// Strings that sit on the validators' edges.
    fn corpus() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            " ",
            "a",
            "ab",
            "abc",
            "0",
            "00",
            "@",
            "@a",
            "@ a",
            "@ ",
            "a@b",
            "a@b.c",
            "a@b.c.",
            ".a@b.c",
            "a.@b.c",
            "a@.b.c",
            "a@b..c",
            "a@b@c.d",
            "a b@c.d",
            "a<@b.c",
            "\"a\"@b.c",
            " a@b.c ",
            "A@B.CO",
            "ä@ü.рф",
            "a\u{85}@b.c",
            "a@b.c\u{0}",
            "\u{202e}",
            "\u{202e}a",
            "\u{1}",
            "a\u{1}",
            "\u{a0}",
            "\u{3000}x\u{3000}",
            "en",
            "EN",
            "en-gb",
            "en_GB",
            "en-",
            "e",
            "engl",
            "ru-RU-x1",
            "th",
            "+79001234567",
            "+7 (900) 123-45-67",
            "8 900 123 45 67",
            "0079001234567",
            "+0791234567",
            "+7900",
            "79001234567",
            "1234567",
            "12345678",
            "+1234567890123456",
            "(495) 123-4567",
            "+ 7 900 123 45 67",
            "tag",
            "two words",
            "a,b",
            "Tag",
            "x\u{2028}",
            "\u{2028}x",
            "@@a",
            "@a@",
            " @user ",
            "Europe/Moscow",
            "UTC",
            "utc",
            "Etc/GMT+3",
            "Europe/",
            "/Moscow",
            "a/b/c",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.push("a".repeat(64) + "@b.c");
        v.push("a".repeat(65) + "@b.c");
        v.push("x".repeat(255));
        v.push("x".repeat(256));
        v.push(format!("@{}", "x".repeat(255)));
        v.push(format!("@{}", "x".repeat(256)));
        v.push("ы".repeat(64));
        v.push("ы".repeat(65));
        v
    }

    #[test]
    fn templates_and_patterns_are_stated_as_the_server_reads_them() {
        let t = re(&template());
        let mut texts = corpus();
        for x in [
            "{{customer.first_name}}",
            "Hi {{ customer.first_name }}!",
            "{{customer.frist_name}}",
            "{{customer.name",
            "{ {x}",
            "{",
            "a{",
            "{{",
            "{{}}",
            "}}",
            "{{{ticket.number}}",
            "{{ticket.number}}}",
            "{x}{{agent.name}}",
            "{{\u{3000}agent.name\u{a0}}}",
            "{{\u{1c}agent.name}}",
            "{{order.tracking_url}}{{workspace.name}}",
            "x{{{customer.name}}",
        ] {
            texts.push(x.to_owned());
        }
        for x in &texts {
            assert_eq!(t.is_match(x), domain::template::check(x).is_ok(), "{x:?}");
        }
        let g = re(domain::rules::PATTERN_GRAMMAR);
        for x in &texts {
            if g.is_match(x) && x.chars().count() <= domain::rules::MAX_PATTERN {
                assert!(
                    regex::RegexBuilder::new(x)
                        .case_insensitive(true)
                        .build()
                        .is_ok(),
                    "{x:?} is of the grammar but does not compile"
                );
            }
        }
    }

    #[test]
    fn patterns_accept_what_the_validators_accept() {
        let email_re = re(&email());
        let phone_re = re(&phone());
        let telegram_re = re(&telegram());
        let other_re = re(&other_id());
        let lang_re = re(&language());
        let tag_re = re(&tag());
        let visible_re = re(&visible());
        for s in corpus() {
            let email_ok = s.chars().count() <= 254 && email_re.is_match(&s);
            // The validator trims; the schema states the trimmed form.
            if s.trim() == s {
                assert_eq!(email_ok, EmailAddress::parse(&s).is_ok(), "email {s:?}");
            }
            assert_eq!(
                phone_re.is_match(&s),
                Identity::parse(IdentityKind::Phone, &s).is_ok(),
                "phone {s:?}"
            );
            assert_eq!(
                telegram_re.is_match(&s),
                Identity::parse(IdentityKind::Telegram, &s).is_ok(),
                "telegram {s:?}"
            );
            assert_eq!(
                other_re.is_match(&s),
                Identity::parse(IdentityKind::Vk, &s).is_ok(),
                "vk {s:?}"
            );
            assert_eq!(
                lang_re.is_match(&s),
                normalize_language(&s).is_ok(),
                "language {s:?}"
            );
            assert_eq!(
                tag_re.is_match(&s),
                domain::ticket::normalize_tag(&s).is_ok(),
                "tag {s:?}"
            );
            assert_eq!(
                visible_re.is_match(&s),
                !domain::text::clean_line(&s).is_empty(),
                "visible {s:?}"
            );
        }
        let origin_re = re(&origin());
        let sites = [
            "https://shop.example",
            " HTTP://Shop.Example:8080/ ",
            "http://127.0.0.1:3000",
            "http://[::1]:8080/",
            "http://x:65535",
            "http://x:65536",
            "http://x:0",
            "http://x:00",
            "http://x:0080",
            "https://shop.example//",
            "https://shop.example/cart",
            "https://user@shop.example",
            "ftp://shop.example",
            "https://",
            "https://:80",
            "https://shop.example:",
            "https://shop.example:123456",
            "https://[]",
            "https://[fe80::1",
            "https://shop_example",
            "https://магазин.рф",
        ];
        for s in sites.iter().map(|s| (*s).to_owned()).chain(corpus()) {
            assert_eq!(
                origin_re.is_match(&s),
                domain::chat::normalize_origin(&s).is_ok(),
                "origin {s:?}"
            );
        }
    }

    #[test]
    fn order_patterns_accept_only_what_orders_take() {
        let amount = re(AMOUNT);
        let time = re(TIME);
        let amounts = [
            "0",
            "4990.00",
            "1.2345",
            "123456789012345",
            "1234567890123456",
            "1.",
            ".5",
            "1.23456",
        ];
        let times = [
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:00:00.123456789+03:00",
            "2026-11-20T10:00:60Z",
            "2026-11-20 10:00:00Z",
        ];
        for s in amounts
            .iter()
            .chain(&times)
            .map(|s| (*s).to_owned())
            .chain(corpus())
        {
            if amount.is_match(&s) {
                assert!(domain::order::parse_amount("t", &s).is_ok(), "amount {s:?}");
            }
            if time.is_match(&s) {
                assert!(domain::Timestamp::parse_rfc3339(&s).is_some(), "time {s:?}");
            }
        }
        assert!(amount.is_match("4990.00") && !amount.is_match("1234567890123456"));
    }

    /// The component a schema names, or the schema itself.
    fn resolve<'a>(d: &'a Value, schema: &'a Value) -> &'a Value {
        schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| d.pointer(p))
            .unwrap_or(schema)
    }

    #[test]
    fn every_json_document_has_a_schema_and_an_example() {
        let d = build();
        let mut missing = Vec::new();
        for (path, item) in d["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let mut docs: Vec<(String, &Value)> = Vec::new();
                if let Some(c) = op.pointer("/requestBody/content") {
                    docs.extend(
                        c.as_object()
                            .into_iter()
                            .flatten()
                            .map(|(t, m)| (format!("request {t}"), m)),
                    );
                }
                for (code, r) in op["responses"].as_object().into_iter().flatten() {
                    if code.starts_with('2') {
                        docs.extend(
                            r["content"]
                                .as_object()
                                .into_iter()
                                .flatten()
                                .map(|(t, m)| (format!("{code} {t}"), m)),
                        );
                    }
                }
                for (what, media) in docs {
                    if !what.ends_with("json") && !what.ends_with("rfc822") {
                        continue;
                    }
                    let schema = resolve(&d, &media["schema"]);
                    let has_example =
                        media.get("example").is_some() || schema.get("example").is_some();
                    if media.get("schema").is_none() || !has_example {
                        missing.push(format!("{method} {path}: {what}"));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "without a schema or an example: {missing:#?}"
        );
    }

    #[test]
    fn every_rule_names_a_part_of_the_document() {
        let d = build();
        let missed = MISSED.with(|m| m.borrow().clone());
        assert!(
            missed.is_empty(),
            "rules for parts that do not exist: {missed:?}"
        );
        assert_eq!(
            d.pointer("/components/schemas/IdentityIo/oneOf")
                .and_then(Value::as_array)
                .map(Vec::len),
            Some(4)
        );
    }
}
