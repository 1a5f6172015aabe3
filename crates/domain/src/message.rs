//! Messages a person may read: a stable code, its parameters, and the English
//! wording. The API sends the English; pages render the code from the
//! language's catalog (`crates/web/i18n/errors.*.toml`), so the same refusal
//! reads in Russian or Thai without the engine knowing languages.
//!
//! Every code is listed once below with its English template; a template names
//! its parameters as `{name}`. Tests elsewhere check that each catalog has every
//! code with the same parameters.

use std::borrow::Cow;
use std::fmt;

/// A parameter's value: plain text (a name, a number, an address), or a value
/// of an enumeration the catalogs translate (`Label("status", "open")` reads
/// the catalog's `status.open`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Label(Cow<'static, str>, String),
}

impl Param {
    /// The value as the API shows it.
    pub fn raw(&self) -> &str {
        match self {
            Param::Text(s) | Param::Label(_, s) => s,
        }
    }
}

/// A refusal's words: what went wrong (the code) and with what (the parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub code: Code,
    pub params: Vec<(Cow<'static, str>, Param)>,
}

impl Message {
    pub fn new(code: Code) -> Message {
        Message {
            code,
            params: Vec::new(),
        }
    }

    /// Adds a plain parameter.
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Message {
        self.params
            .push((Cow::Borrowed(name), Param::Text(value.to_string())));
        self
    }

    /// Adds a parameter whose value the catalogs translate under `prefix`.
    pub fn label(
        mut self,
        name: &'static str,
        prefix: &'static str,
        value: impl fmt::Display,
    ) -> Message {
        self.params.push((
            Cow::Borrowed(name),
            Param::Label(Cow::Borrowed(prefix), value.to_string()),
        ));
        self
    }

    /// `template` with each `{name}` replaced by `value(param)`.
    pub fn fill(&self, template: &str, value: impl Fn(&Param) -> String) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    match self.params.iter().find(|(n, _)| n == name) {
                        Some((_, p)) => out.push_str(&value(p)),
                        None => out.push_str(&rest[open..open + close + 2]),
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

impl Message {
    /// Words from outside (a remote service's answer, text stored before
    /// messages had codes), shown as they are in every language.
    pub fn verbatim(text: impl fmt::Display) -> Message {
        Message::new(Code::Verbatim).with("text", text)
    }

    /// The message as a column keeps it: JSON with the code's key and the
    /// parameters, so a page can word it in its language later.
    pub fn to_stored(&self) -> String {
        let params: serde_json::Map<String, serde_json::Value> = self
            .params
            .iter()
            .map(|(n, p)| {
                let v = match p {
                    Param::Text(s) => serde_json::Value::String(s.clone()),
                    Param::Label(prefix, s) => {
                        serde_json::json!({"label": prefix, "value": s})
                    }
                };
                (n.to_string(), v)
            })
            .collect();
        serde_json::json!({"code": self.code.key(), "params": params}).to_string()
    }

    /// A stored message; text that is not one (older rows) is verbatim.
    pub fn from_stored(stored: &str) -> Message {
        Self::parse_stored(stored).unwrap_or_else(|| Message::verbatim(stored))
    }

    fn parse_stored(stored: &str) -> Option<Message> {
        if !stored.starts_with('{') {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(stored).ok()?;
        let code = Code::from_key(v.get("code")?.as_str()?)?;
        let mut m = Message::new(code);
        for (name, p) in v.get("params")?.as_object()? {
            let param = match p {
                serde_json::Value::String(s) => Param::Text(s.clone()),
                serde_json::Value::Object(o) => Param::Label(
                    Cow::Owned(o.get("label")?.as_str()?.to_owned()),
                    o.get("value")?.as_str()?.to_owned(),
                ),
                _ => return None,
            };
            m.params.push((Cow::Owned(name.clone()), param));
        }
        Some(m)
    }
}

impl From<Code> for Message {
    fn from(code: Code) -> Message {
        Message::new(code)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fill(self.code.english(), |p| match p {
            Param::Label(prefix, v) => english_label(prefix, v).to_owned(),
            Param::Text(s) => s.clone(),
        }))
    }
}

/// An enumeration value in English sentences: services by their names, other
/// values as the API spells them.
fn english_label<'a>(prefix: &str, value: &'a str) -> &'a str {
    match (prefix, value) {
        ("channel", "telegram") => "Telegram",
        ("channel", "whatsapp") => "WhatsApp",
        ("channel", "vk") => "VK",
        ("channel", "facebook") => "Facebook",
        ("channel", "instagram") => "Instagram",
        ("channel", "viber") => "Viber",
        _ => value,
    }
}

/// The names of the `{…}` placeholders in a template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    out
}

/// `min` to `max` characters.
pub fn chars(min: usize, max: usize) -> Message {
    Message::new(Code::Chars)
        .with("min", group(min))
        .with("max", group(max))
}

/// At most `max` characters.
pub fn max_chars(max: usize) -> Message {
    Message::new(Code::MaxChars).with("max", group(max))
}

/// A whole number from `min` to `max`.
pub fn range(min: impl fmt::Display, max: impl fmt::Display) -> Message {
    Message::new(Code::Range).with("min", min).with("max", max)
}

/// The thing a reference names does not exist (or is in another workspace);
/// `thing` is a key of the catalogs' `thing` table.
pub fn no_such(thing: &'static str) -> Message {
    Message::new(Code::NoSuch).label("thing", "thing", thing)
}

/// At most `max` items.
pub fn at_most(max: usize) -> Message {
    Message::new(Code::AtMost).with("max", group(max))
}

/// A number with thousands grouped by commas, as the English templates write them.
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

macro_rules! codes {
    ($($name:ident = $key:literal => $en:literal,)*) => {
        /// Every message the engine can give a person.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $($name,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code with this catalog key.
            pub fn from_key(key: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.key() == key)
            }

            /// The catalogs' key (under `engine.`).
            pub fn key(self) -> &'static str {
                match self { $(Code::$name => $key,)* }
            }

            /// The English template.
            pub fn english(self) -> &'static str {
                match self { $(Code::$name => $en,)* }
            }
        }
    };
}

codes! {
    // Shapes shared by many fields.
    Verbatim = "verbatim" => "{text}",
    Required = "required" => "required",
    NotEmpty = "not_empty" => "must not be empty",
    Chars = "chars" => "{min} to {max} characters",
    MaxChars = "max_chars" => "at most {max} characters",
    NoControls = "no_controls" => "no control characters",
    Range = "range" => "from {min} to {max}",
    AtMost = "at_most" => "at most {max}",
    Color = "color" => "a colour as #rrggbb",
    Url = "url" => "an http or https address without credentials, at most 2,000 characters",
    Email = "email" => "an e-mail address",
    OneOf = "one_of" => "unknown value {value}; expected one of: {values}",
    BadJson = "bad_json" => "not understood: {reason}",
    NoSuch = "no_such" => "no such {thing}",
    Transition = "ticket.transition" => "a ticket cannot go from {from} to {to}",
    LanguagesOneToTwenty = "outreach.languages" => "1 to 20 languages",
    OutreachTimes = "outreach.times" => "times are minutes after midnight, 0 to 1439",
    OrderUrl = "order.url" => "must be an http(s) address of at most 2000 characters",
    RequiredForNewOrder = "order.required_for_new" => "required for a new order",
    Threshold = "assist.threshold" => "a number from 0 to 1",
    ProviderModel = "assist.model" => "1 to 200 letters, digits and ._:/@+- as the provider names it",
    ProviderTimeout = "assist.timeout" => "from 500 to 60,000 milliseconds",
    EmbeddingWeight = "assist.weight" => "a number from 0.1 to 16",
    CategoryKeyShape = "assist.category_key" => "1 to 64 characters, no spaces or commas",
    TextNeeded = "macros.text_needed" => "a text is needed",
    TextNeededForTranslations = "macros.text_for_translations" => "a text is needed when translations are given",
    MacroEmpty = "macros.empty" => "a macro needs a text or an action",
    MacroShape = "macros.shape" => "a macro changes the ticket (status, priority, team, tier, category, tags, fields, assignee); its text is the reply",
    ExternalIdShape = "identity.external_id" => "must have 1 to 255 characters and no control characters",
    KbKeyShape = "kb.key" => "1 to 64 of a-z, 0-9 and -, starting with a letter",
    SlaNoTarget = "sla.no_target" => "set at least one target",
    SlaWarnShare = "sla.warn_share" => "a share of the target from 0.001 to 0.999, such as 0.75",
    AtMostTwentyLanguages = "chat.languages" => "at most 20 languages",
    PrechatAtMostThree = "chat.prechat_fields" => "at most 3 fields",
    FieldKeyShape = "fields.key" => "1 to 64 of a-z, 0-9 and _, starting with a letter",
    DropdownOptions = "fields.dropdown_options" => "a dropdown needs 1 to 500 options",
    OptionsOnDropdown = "fields.options_on_dropdown" => "only dropdown fields have options",
    RuleValueList = "rules.value_list" => "a list of 1 to 100 values",
    WholeNumber = "rules.whole_number" => "a whole number",
    ValueNeeded = "rules.value_needed" => "a value is needed",
    RuleTier = "rules.tier" => "a tier from 1 to 3",
    RuleTags = "rules.tags" => "1 to 50 tags",
    RuleCategory = "rules.category" => "a category of at most 100 characters",
    JourneyValueWithoutAttribute = "journey.value_without_attribute" => "a value needs the attribute it is of",
    JourneyTrackingOff = "journey.tracking_off" => "the workspace does not track visitors: turn tracking on in the journey settings first",
    JourneyMoment = "journey.moment" => "a moment at most 5 minutes ahead and 2 years back",
    JourneyRating = "journey.rating" => "only a review has a rating",
    JourneyCustomerNeeded = "journey.customer_needed" => "name the customer by customer_id or at least one identity",
    LinkTarget = "journey.link_target" => "the address is not among the link targets registered in the journey settings",
    LinkTargetShape = "journey.link_target_shape" => "an http or https address with a host and no user name or password",
    JourneySegmentWithoutKind = "journey.segment_without_kind" => "name what the segment is of: segment_by",
    RuleFieldKey = "rules.field_key" => "a field key of 1 to 64 characters",
    RuleTranslations = "rules.translations" => "at most 20 translations",
    RuleNotifyWhom = "rules.notify_whom" => "name the agents or a team to tell",
    RuleWebhookUrl = "rules.webhook_url" => "an http(s) address of at most 2000 characters",
    TriggerNeedsEvent = "rules.trigger_needs_event" => "a trigger listens to at least one event",
    AutomationNoEvents = "rules.automation_no_events" => "an automation runs on time, not on events",
    AutomationNeedsTime = "rules.automation_needs_time" => "an automation needs a time condition in `all` (hours since … greater than)",
    FlowPhraseWords = "flow.phrase_words" => "at least one phrase with words",
    FlowTexts = "flow.texts" => "texts in 1 to 20 languages",
    FlowVarShape = "flow.var" => "1 to 32 of a-z, 0-9 and _",
    FlowChoices = "flow.choices" => "2 to 20 choices",
    FlowChoiceLength = "flow.choice_length" => "each 1 to 100 characters",
    FlowChoicesNeedExpect = "flow.choices_need_expect" => "choices go with expect: choice",
    FlowSkipOnlyOrder = "flow.skip_only_order" => "only an order number's question is skipped",
    NoteNeeded = "flow.note_needed" => "a note is needed",
    AtMostFiftyTags = "flow.tags" => "at most 50 tags",
    CriterionNeeded = "quality.criterion_needed" => "at least one criterion",
    CriterionKey = "quality.criterion_key" => "a key of a-z, 0-9 and _, at most 40 characters",
    CriterionTwice = "quality.criterion_twice" => "the key {key} is used twice",
    CriterionScale = "quality.criterion_scale" => "{key}: a scale of 2, 3 or 5 points",
    ScoreUnknown = "quality.score_unknown" => "{key} is not a criterion of this scorecard; its criteria: {keys}",
    ScoreOffScale = "quality.score_scale" => "{key}: a value from 1 to {max}",
    RatingNeeded = "quality.rating_needed" => "rate at least one criterion",
    TextBlank = "quality.text_blank" => "{field} needs words, not only spaces",
    QualityReviewers = "quality.reviewers" => "only owners, admins and supervisors review quality",
    ScorecardInactive = "quality.inactive" => "this scorecard is inactive",
    ReviewNoAgent = "quality.no_agent" => "the ticket has no assignee to review",
    ReviewOwnWork = "quality.own_work" => "you cannot review your own conversation",
    AtMostScorecards = "quality.scorecards" => "at most {max} scorecards",
    PositiveNumber = "ticket.number" => "must be 1 or more",
    Tier = "ticket.tier" => "must be 1, 2 or 3",
    TagLength = "ticket.tag_length" => "each tag must have 1 to 64 characters",
    TagsPerTicket = "ticket.tags" => "at most 50 tags per ticket",
    MediaType = "help.media_type" => "a PNG, JPEG, GIF or WebP image, or a PDF",
    ImageNeeded = "help.image" => "an image",
    NoApiChannel = "api_channel.none" => "no such API channel",
    ChannelOff = "api_channel.off" => "the channel is switched off",
    SenderNeeded = "api_channel.sender" => "name the sender by id, email or phone",
    UserDeactivated = "swarm.user_deactivated" => "the user is deactivated",
    SolutionFromAgent = "swarm.solution_from_agent" => "only an agent's note or reply can be a solution",
    CustomerWords = "assist.customer_words" => "the customer's words",
    ProviderId = "messenger.provider_id" => "1 to 500 characters, no spaces, as the provider shows it",
    VkGroupId = "vk.group_id" => "the community's id (digits, as VK shows it)",
    VkOtherCommunity = "vk.other_community" => "another community is another channel",
    SharedMacrosByLeads = "macros.shared_by_leads" => "shared macros are kept by owners, admins and supervisors",
    WhatsappNumberId = "whatsapp.number_id" => "the number Meta shows for it (digits)",
    WhatsappOtherNumber = "whatsapp.other_number" => "another number is another channel",
    WhatsappNoBusinessAccount = "whatsapp.no_business_account" => "the channel has no business_account_id: templates are read from the WhatsApp Business Account",
    TemplatesForWhatsapp = "whatsapp.templates_only" => "templates are for WhatsApp conversations",
    TemplateParameters = "whatsapp.template_parameters" => "at most 20, each 1 to 1,024 characters on one line",
    WebhookEvents = "subscriptions.events" => "1 to 50 event kinds, or [\"*\"] for all",
    EventStreamForAdmins = "events.for_admins" => "the event stream is for owners and admins (and their API tokens)",
    KbEditors = "kb.editors" => "owners, admins and supervisors edit the knowledge base",
    KbCategoryInItself = "kb.category_in_itself" => "a category cannot be filed under itself",
    KbCategoryDepth = "kb.category_depth" => "categories nest at most three levels deep",
    CallDuration = "phone.duration" => "0 to 86,400 seconds",
    AdminsOnly = "auth.admins_only" => "only owners and admins may do this",
    LightAgentLimits = "auth.light_agent" => "light agents can read tickets and write internal notes only",
    MissingReference = "reference" => "it names something that does not exist",
    IdentitySignature = "chat.signature" => "the identity's signature does not match",
    ChatMessageEmpty = "chat.message_empty" => "a message needs text or a file",
    TriageCategoryKey = "triage.category_key" => "a category's key",
    NotTriaged = "triage.not_triaged" => "this message has not been triaged (only customers' messages are)",
    ExternalIdNeeded = "ingest.external_id" => "an inbound message needs its channel's id",
    IngestCollided = "ingest.collided" => "the message kept colliding with concurrent deliveries; retry",
    HeldKeepsOriginal = "ingest.held_original" => "a held message keeps its original",
    TicketClosed = "rules.ticket_closed" => "the ticket is closed",
    NoAgentToTell = "rules.no_agent" => "no active agent to tell",
    SkillShape = "people.skill" => "each skill is 1 to 64 characters without spaces or commas",
    ChannelCapacity = "people.channel_capacity" => "0 to 1000 each",
    OwnerByOwner = "people.owner_by_owner" => "only an owner may change an owner",
    PresenceValue = "people.presence" => "one of: online, away, busy, offline",
    NotYourself = "people.not_yourself" => "you cannot deactivate yourself",
    RerouteAfter = "people.reroute_after" => "from 0 to 604800 seconds, or null",
    EscalateToItself = "people.escalate_to_itself" => "a team cannot escalate to itself",
    ClosedTicket = "tickets.closed" => "a closed ticket cannot be changed",
    MessageIdShape = "tickets.message_id" => "1 to 998 characters, no control characters",
    MessageEmpty = "tickets.message_empty" => "a message needs text or an attachment",
    IdempotencyReused = "tickets.idempotency_reused" => "this Idempotency-Key was already used for a different request",
    RequestCollided = "tickets.collided" => "the request kept colliding with concurrent ones; retry",
    CustomerMessagePublic = "tickets.customer_public" => "a customer's message is always public",
    ClosedTicketFollowUp = "tickets.closed_follow_up" => "a closed ticket cannot be changed; the customer's next message opens a follow-up",
    ResendOnlyFailed = "tickets.resend_only_failed" => "only a reply whose delivery failed can be sent again",
    NoPendingAttachment = "tickets.no_pending_attachment" => "no such attachment waiting to be sent (unknown, or already on a message)",
    AssigneeDeactivated = "tickets.assignee_deactivated" => "assignee_id: the user is deactivated",
    CustomerNeeded = "customers.needed" => "give a customer id or at least one identity (email, phone, …)",
    CustomerMerged = "customers.merged" => "this customer was merged into another; change that one",
    MergeIntoItself = "customers.merge_itself" => "a customer cannot be merged into itself",
    AlreadyMerged = "customers.already_merged" => "one of these customers was already merged into another",
    CustomerErased = "customers.erased" => "this customer's personal data was erased; the profile takes nothing new",
    WorkspaceNameShape = "workspaces.name" => "2 to 40 of a-z, 0-9 and -, starting with a letter",
    TimeZoneName = "workspaces.time_zone" => "an IANA time zone such as Europe/Moscow, or UTC",
    BotToken = "telegram.token" => "a bot token as BotFather gives it: digits, a colon, then letters, digits, _ or -",
    OtherBot = "telegram.other_bot" => "the token of another bot: connect that bot as a channel of its own",
    PublicUrlMissing = "telegram.public_url" => "the server's public_url is not set",
    NotEscalatedWhenDone = "escalation.done" => "a solved or closed ticket is not escalated",
    HighestTier = "escalation.highest_tier" => "the ticket is at the highest tier; name a team to escalate to",
    AlreadyThere = "escalation.already_there" => "the ticket is already there; name another team",
    OrderCustomerNeeded = "orders.customer_needed" => "a new order needs its customer (an id or an identity)",
    OrderOfAnother = "orders.of_another" => "the order is another customer's",
    HostName = "mailbox.host" => "a host name or IP address",
    MailboxPlus = "mailbox.plus" => "the address itself may not contain '+' (it is used for reply tokens)",
    RequiredForImap = "mailbox.required_for_imap" => "required for IMAP",
    ImapOnly = "mailbox.imap_only" => "host, username and password belong to IMAP mailboxes only",
    MailboxLanguages = "mailbox.languages" => "languages are en, ru and th",
    AutoReplyLength = "mailbox.auto_reply" => "at most 4000 characters each",
    OutreachStatus = "outreach.status" => "{s} is not a status of {on}",
    Amount = "order.amount" => "{raw} is not an amount like 4990.00",
    Currency = "order.currency" => "{raw} is not a currency code like RUB",
    OrderTextLength = "order.text_length" => "must have 1 to {max} characters",
    ExampleLength = "assist.example_length" => "each at most {max_example} characters",
    TimeOfDay = "calendar.time" => "{s} is not a time like 09:00",
    NotTimeZone = "calendar.time_zone" => "{time_zone} is not an IANA time zone",
    IntervalsPerDay = "calendar.intervals" => "at most {max_intervals} intervals a day",
    Holiday = "calendar.holiday" => "{h} is not a date like 2027-01-01",
    AtMostTranslations = "macros.translations" => "at most {max_translations} translations",
    LanguageTag = "macros.language_tag" => "{lang} is not a language tag in lower case (en, ru, th, pt-br)",
    AtMostActions = "macros.actions" => "at most {max_actions} actions",
    NotEmail = "identity.email" => "{raw} is not an e-mail address: {m}",
    PhonePlus = "identity.phone_plus" => "{raw} must start with + and the country code",
    PhoneDigits = "identity.phone_digits" => "{raw} is not an E.164 number (+ and 8 to 15 digits)",
    PhoneNumber = "identity.phone" => "{raw} is not an E.164 phone number",
    LanguageCode = "identity.language" => "{raw} is not a language code like ru, en or th",
    KbLanguages = "kb.languages" => "one to {max_languages} language codes",
    ActorId = "event.actor_id" => "a {kind} actor needs an id",
    ActorKind = "event.actor_kind" => "unknown actor kind {other}",
    AtMostSites = "chat.sites" => "at most {max_origins} sites",
    SiteAddress = "chat.site" => "{raw} is not a site address like https://shop.example",
    DropdownOption = "fields.option" => "option {o} is empty, too long or repeated",
    RuleText = "rules.text" => "a text of at most {max_text} characters",
    RuleValue = "rules.value" => "{v} is not a {field} value",
    RuleOperator = "rules.operator" => "{field} cannot be compared with {op}; use one of: {allowed}",
    RuleBadPattern = "rules.bad_pattern" => "not a pattern: {reason}",
    AtMostAgents = "rules.agents" => "at most {max_notify} agents",
    AtMostConditions = "rules.conditions" => "at most {max_conditions} conditions a list",
    RuleActions = "rules.actions" => "1 to {max_actions} actions",
    FlowPhrases = "flow.phrases" => "1 to {max_phrases} phrases",
    FlowPhraseLength = "flow.phrase_length" => "each at most {max_phrase} characters",
    FlowSteps = "flow.steps" => "1 to {max_steps} steps",
    FlowTextEmpty = "flow.text_empty" => "the {l} text is empty",
    TagSpaces = "ticket.tag_spaces" => "tag {t} must not contain spaces or commas",
    MediaTooLarge = "help.media_size" => "an image or file may have at most {max_media_bytes} bytes",
    OutreachLimit = "outreach.limit" => "a workspace has at most {max} outreach rules",
    ExpertsLimit = "swarm.limit" => "a ticket has at most {max_collaborators} experts",
    FollowersLimit = "swarm.followers_limit" => "a ticket has at most {max_followers} followers",
    SidesLimit = "side.limit" => "a ticket has at most {max} side conversations",
    SideMessagesLimit = "side.messages_limit" => "a side conversation has at most {max} messages",
    SurveyNeedsAddress = "survey.public_url" => "survey links need the server's public address: set public_url in the configuration first",
    ReportPeriod = "reports.period" => "a report covers 1 to {max_days} days: to must come after from",
    ReportReaders = "reports.readers" => "owners, admins and supervisors read the reports",
    NoTeam = "macros.no_team" => "no team {t} in this workspace",
    NoAgent = "macros.no_agent" => "no active agent {u} in this workspace",
    MacrosLimit = "macros.limit" => "the workspace already has {max_macros} macros",
    PasswordShort = "auth.password_short" => "must have at least {min_password_chars} characters",
    PasswordLong = "auth.password_long" => "must have at most {max_password_chars} characters",
    NoTemplate = "whatsapp.no_template" => "no approved template {name} in {language} for this number",
    TemplateParameterCount = "whatsapp.parameter_count" => "the template takes {parameters} parameters",
    FlowKeyTaken = "flows.key_taken" => "a flow with the key {key} exists",
    FlowsLimit = "flows.limit" => "a workspace has at most {max_flows} flows",
    EventKind = "subscriptions.event_kind" => "{kind} is not an event kind",
    WebhooksLimit = "subscriptions.limit" => "a workspace has at most {max_webhooks} webhooks",
    CalendarsLimit = "sla.calendars_limit" => "the workspace already has {max_calendars} calendars",
    PoliciesLimit = "sla.policies_limit" => "the workspace already has {max_policies} SLA policies",
    Phone = "phone.number" => "{raw} is not a phone number (E.164)",
    TriageKeyTaken = "triage.key_taken" => "a category with the key {key} exists",
    CategoriesLimit = "triage.limit" => "a workspace has at most {max_categories} categories",
    NoCategory = "triage.no_category" => "the workspace has no category {key}",
    NoCalendar = "rules.no_calendar" => "no calendar {cal} in this workspace",
    RulesLimit = "rules.limit" => "the workspace already has {max_rules} rules",
    CannotCreateRole = "people.cannot_create" => "a {role} cannot create a {wanted}",
    CannotGrantRole = "people.cannot_grant" => "a {role} cannot grant {wanted}",
    CcLimit = "tickets.cc_limit" => "at most {max_cc} addresses",
    BodyTooLarge = "tickets.body_size" => "a message body may have at most {max} bytes",
    AttachmentsPerMessage = "tickets.attachments" => "at most {max} per message",
    NestingDepth = "tickets.nesting" => "elements may nest at most {depth} levels deep",
    AttachmentTooLarge = "tickets.attachment_size" => "an attachment may have at most {bytes} bytes",
    IdentityTaken = "customers.identity_taken" => "the {kind} {value} already belongs to a customer",
    IdentityTakenMerge = "customers.identity_taken_merge" => "the {kind} {value} already belongs to a customer; merge the two instead",
    WorkspaceExists = "workspaces.exists" => "a workspace named {name} already exists",
    NoWorkspace = "workspaces.none" => "no workspace named {workspace}",
    NoOwner = "workspaces.no_owner" => "workspace {workspace} has no active owner",
    ApiKeyShape = "ai.key" => "at most {max_key} characters, no spaces (empty for none)",
    KeyForNewAddress = "ai.key_for_new_address" => "{field}: give the key again for a new address",
    AddressTaken = "mailbox.address_taken" => "{address} already belongs to a mailbox on this server",
    LineText = "mailbox.line" => "at most {max} characters, no control characters",
    EmailTooLarge = "ingest.email_size" => "an email may have at most {bytes} bytes",
    Date = "date" => "{value} is not a date like 2026-11-22",
    FieldType = "fields.type" => "expected a {type} value",
    PlaceholderOpen = "template.unclosed" => "a placeholder opened with {open} is not closed with {close}",
    PlaceholderUnknown = "template.unknown" => "unknown placeholder {name}; known: {known}",
    RulesPattern = "rules.pattern" => "a pattern of at most {max} characters: words and characters, \\ before a special one, . for any, * + ? after one, ^ $ anchors, | between alternatives",
    SlaMinutes = "sla.minutes" => "from 1 to {max} minutes",
    AtMostValues = "at_most_values" => "at most {max} values",
    FieldRequiredToSolve = "tickets.field_required_to_solve" => "required before the ticket is solved",
    LastOwner = "people.last_owner" => "this is the workspace's last active owner; make another user owner first",
    PublicUrlUnset = "channels.public_url_unset" => "the server's public_url is not set: {channel} needs an address to deliver messages to",
    ChannelTaken = "channels.taken" => "this {what} is already connected to a channel",
    BaseAddress = "base_address" => "an http or https address: a host, a port, a path; no query, fragment or credentials",
    FlowAnswerBeforeAsked = "flow.answer_before_asked" => "step {step} uses {placeholder} before it is asked",
    FlowOrderBeforeFound = "flow.order_before_found" => "step {step} uses {placeholder} before a find_order step",
    FlowAskedTwice = "flow.asked_twice" => "step {step} asks for {var} a second time",
    FlowOrderVarNotAsked = "flow.order_var_not_asked" => "step {step} looks up the order numbered by {var}, which is not asked before it",
    PrechatField = "chat.prechat_field" => "name, email or phone",
    Upstream = "upstream" => "the remote service answered: {reason}",
    RateLimited = "rate_limited" => "too many attempts; try again in {seconds} s",
    Busy = "busy" => "the server is busy; try again in {seconds} s",
    TakenWorkspaceName = "unique.workspace_name" => "a workspace with this name already exists",
    TakenUserEmail = "unique.user_email" => "a user with this email already exists in the workspace",
    TakenTeamName = "unique.team_name" => "a team with this name already exists",
    TakenTeamMember = "unique.team_member" => "the user is already in the team",
    TakenTokenHash = "unique.token_hash" => "the secret collided; try again",
    TakenCustomerIdentity = "unique.customer_identity" => "another customer already has this identity",
    TakenFieldKey = "unique.field_key" => "a field with this key already exists",
    TakenTicketNumber = "unique.ticket_number" => "the ticket number was taken; try again",
    TakenTicketTag = "unique.ticket_tag" => "the ticket already has this tag",
    TakenMessageExternalId = "unique.message_external_id" => "a message with this external id already exists",
    TakenIdempotencyKey = "unique.idempotency_key" => "this Idempotency-Key is already in use",
    TakenAccountAddress = "unique.account_address" => "this address already belongs to a channel account",
    TakenChannelRecord = "unique.channel_record" => "this message was already recorded",
    TakenConsumer = "unique.consumer" => "this consumer already exists",
    TakenHeldMessage = "unique.held_message" => "this message is already held",
    TakenCategoryKey = "unique.category_key" => "a category with this key already exists",
    TakenArticleLanguage = "unique.article_language" => "this article already has a translation into this language",
    TakenFaqLanguage = "unique.faq_language" => "this FAQ entry already has a translation into this language",
    TakenOrderExternalId = "unique.order_external_id" => "an order with this external id already exists",
    TakenOrganizationName = "unique.organization_name" => "an organisation with this name already exists",
    TakenOrganizationDomain = "unique.organization_domain" => "this domain already belongs to another organisation",
    Exists = "unique.other" => "it already exists",
    HeldOwnAddress = "held.own_address" => "customer.email: the mailbox's own address cannot be the customer",
    HeldNotTicketed = "held.not_ticketed" => "customer.email: mail from this sender is not ticketed ({why})",
    HeldNotTicketable = "held.not_ticketable" => "customer.email: the message could not be ticketed ({outcome})",
    NoUserInWorkspace = "cli.no_user" => "no user {user} in {workspace}",
    DeliveryNoAdapter = "delivery.no_adapter" => "this server has no outbound connection for the {channel} channel",
    DeliveryWindowClosed = "delivery.window_closed" => "the {channel} messaging window is closed: a free-form reply may be sent only within {hours} hours of the customer's last message; send an approved template instead",
    DeliveryApiChannelOff = "delivery.api_channel_off" => "the API channel {name} is switched off",
    DeliverySecretUnreadable = "delivery.secret_unreadable" => "the channel's signing secret cannot be opened: is secret_key the same on every node?",
    DeliveryWebhookRefused = "delivery.webhook_refused" => "the channel's webhook refused it ({status})",
    DeliveryNotThatChannel = "delivery.not_that_channel" => "the ticket did not come through a {kind} channel",
    DeliveryChannelOff = "delivery.channel_off" => "the {kind} channel {name} is switched off",
    DeliveryNoAddress = "delivery.no_address" => "the customer's {kind} address is not known",
    DeliveryRemote = "delivery.remote" => "the service answered: {reason}",
    DeliveryUnusable = "delivery.unusable" => "the {kind} channel cannot be used: {reason}",
    DeliveryNoConversation = "delivery.no_conversation" => "the customer's {kind} conversation is not known",
    DeliveryNotLinked = "delivery.not_linked" => "the agent has not linked Telegram",
    DeliveryAgentBotOff = "delivery.agent_bot_off" => "the agent's Telegram bot is switched off",
    DeliveryNoSmtp = "delivery.no_smtp" => "no email mailbox with outbound SMTP is set up in this workspace",
    DeliveryMailboxNoSmtp = "delivery.mailbox_no_smtp" => "the mailbox {address} has no outbound SMTP settings",
    DeliveryNoEmail = "delivery.no_email" => "the customer has no e-mail address",
    DeliveryMailboxGone = "delivery.mailbox_gone" => "the mailbox is gone",
    DeliveryGone = "delivery.gone" => "the agent or the ticket is gone",
    DeliveryBounced = "delivery.bounced" => "bounced: {reason}",
    DeliverySmtpAttempt = "delivery.smtp_attempt" => "attempt {attempt}: {reason}",
    DeliveryGaveUp = "delivery.gave_up" => "gave up after the last attempt: {reason}",
    FieldArchived = "fields.archived" => "the field {field} is archived: it takes no new values",
    SnoozeDone = "tickets.snooze_done" => "a solved or closed ticket is not snoozed",
    SnoozeWhen = "tickets.snooze_when" => "a snooze ends at a moment ahead, within a year",
    MergeSame = "tickets.merge_same" => "a ticket cannot be merged into itself",
    OutboundChannel = "tickets.outbound_channel" => "an agent starts a conversation by e-mail or through the API channel only",
    OutboundNoEmail = "tickets.outbound_no_email" => "this customer has no e-mail address to write to",
    OutboundNoMailbox = "tickets.outbound_no_mailbox" => "no mailbox of this workspace sends e-mail (set up SMTP for it first)",
    AccountOfChannel = "tickets.account_of_channel" => "account_id names no {channel} account of this workspace",
    DomainShape = "org.domain" => "{value} is not a domain such as example.com",
    FieldRequiredTickets = "fields.required_tickets" => "only ticket fields can be required",
    DomainOwned = "org.domain_owned" => "the domain {domain} already belongs to {organization}",
    MergeClosed = "tickets.merge_closed" => "ticket #{number} is closed: a closed ticket is not merged",
    SplitClosed = "tickets.split_closed" => "a closed or merged ticket is not split",
    SplitCustomer = "tickets.split_customer" => "only a message from the customer is split into a new ticket",
    SplitFirst = "tickets.split_first" => "the ticket's first message stays: split a later one",
    ReminderWhen = "reminders.when" => "a reminder is for a moment ahead, within a year",
    RemindersLimit = "reminders.limit" => "at most {max} reminders may wait at once",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_fills_named_parameters_and_keeps_unknown_ones() {
        assert_eq!(chars(1, 1000).to_string(), "1 to 1,000 characters");
        assert_eq!(max_chars(10_000).to_string(), "at most 10,000 characters");
        let m = Message::new(Code::Transition)
            .label("from", "status", "closed")
            .label("to", "status", "open");
        assert_eq!(m.to_string(), "a ticket cannot go from closed to open");
        // A template naming a parameter the message lacks shows the name, and
        // an unclosed brace is text.
        let m = Message::new(Code::Range).with("min", 1);
        assert_eq!(m.to_string(), "from 1 to {max}");
        assert_eq!(m.fill("{min} {", |p| p.raw().to_owned()), "1 {");
    }

    #[test]
    fn codes_have_distinct_keys_and_well_formed_templates() {
        let mut keys: Vec<&str> = Code::ALL.iter().map(|c| c.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Code::ALL.len());
        for c in Code::ALL {
            let t = c.english();
            assert_eq!(t.matches('{').count(), t.matches('}').count(), "{t}");
            for name in placeholders(t) {
                assert!(
                    !name.is_empty() && name.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                    "{}: {{{name}}}",
                    c.key()
                );
            }
        }
    }

    #[test]
    fn numbers_group_by_thousands() {
        assert_eq!(
            [0, 999, 1000, 60_000, 1_048_576].map(group),
            ["0", "999", "1,000", "60,000", "1,048,576"]
        );
    }
}
