//! Users, teams, API tokens and custom field definitions: the admin side.

use crate::{Engine, EngineError, Principal, page_limit};
use domain::Code;
use domain::Message;
use domain::event::{Change, EventData, record};
use domain::fields::{FieldType, validate_key, validate_options};
use domain::identity::{EmailAddress, normalize_language, normalize_name};
use domain::ids::*;
use domain::message;
use domain::routing::RoutingMode;
use domain::ticket::Tier;
use domain::user::Role;
use serde_json::json;
use std::collections::BTreeMap;
use store::StoreError;
use store::people::{self, ApiToken, Team, User};
use store::tickets::{self, Field};

/// A user with their teams.
#[derive(Clone, Debug, PartialEq)]
pub struct UserView {
    pub user: User,
    pub team_ids: Vec<TeamId>,
}

/// A new user.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub email: String,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
    pub tier: Option<i64>,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    pub team_ids: Vec<TeamId>,
    pub capacity: Option<i64>,
    pub channel_capacity: BTreeMap<String, i64>,
}

/// A team as given; `None` leaves a field as it is (or takes the default).
#[derive(Clone, Debug, Default)]
pub struct TeamInput {
    pub name: Option<String>,
    pub tier: Option<i64>,
    pub routing: Option<RoutingMode>,
    pub reroute_after_s: Option<Option<i64>>,
    pub escalate_to: Option<Option<TeamId>>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub tier: Option<i64>,
    pub languages: Option<Vec<String>>,
    pub skills: Option<Vec<String>>,
    pub team_ids: Option<Vec<TeamId>>,
    pub capacity: Option<i64>,
    /// Replaces every channel's capacity.
    pub channel_capacity: Option<BTreeMap<String, i64>>,
    pub presence: Option<String>,
    pub active: Option<bool>,
}

fn languages(v: &[String]) -> Result<Vec<String>, EngineError> {
    let mut out = v
        .iter()
        .map(|l| normalize_language(l))
        .collect::<Result<Vec<_>, _>>()?;
    out.dedup();
    if out.len() > 20 {
        return Err(EngineError::invalid("languages", message::at_most(20)));
    }
    Ok(out)
}

fn skills(v: &[String]) -> Result<Vec<String>, EngineError> {
    let out = domain::ticket::normalize_tags(v.iter().map(String::as_str))
        .map_err(|_| EngineError::invalid("skills", Code::SkillShape))?;
    Ok(out)
}

fn capacity(c: i64) -> Result<i64, EngineError> {
    if (0..=1000).contains(&c) {
        Ok(c)
    } else {
        Err(EngineError::invalid("capacity", message::range(0, 1000)))
    }
}

/// Capacities per channel: known channels, 0 to 1000 each.
fn channel_capacity(m: BTreeMap<String, i64>) -> Result<BTreeMap<String, i64>, EngineError> {
    for (ch, n) in &m {
        domain::ticket::Channel::parse(ch)
            .map_err(|e| EngineError::invalid("channel_capacity", e.message()))?;
        if !(0..=1000).contains(n) {
            return Err(EngineError::invalid(
                "channel_capacity",
                Code::ChannelCapacity,
            ));
        }
    }
    Ok(m)
}

fn conflict(what: Code) -> impl Fn(StoreError) -> EngineError {
    move |e| match e {
        StoreError::Conflict(_) => EngineError::Conflict(what.into()),
        e => e.into(),
    }
}

impl Engine {
    async fn with_teams(
        &self,
        ws: WorkspaceId,
        users: Vec<User>,
    ) -> Result<Vec<UserView>, EngineError> {
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let pairs = {
            let mut c = self.store.read().await?;
            people::teams_of_users(&mut c.conn(), ws, &ids).await?
        };
        Ok(users
            .into_iter()
            .map(|u| {
                let team_ids = pairs
                    .iter()
                    .filter(|(uid, _)| *uid == u.id)
                    .map(|(_, t)| *t)
                    .collect();
                UserView { user: u, team_ids }
            })
            .collect())
    }

    pub async fn users(
        &self,
        p: &Principal,
        after: Option<UserId>,
        limit: Option<i64>,
    ) -> Result<Vec<UserView>, EngineError> {
        let users = {
            let mut c = self.store.read().await?;
            people::list_users(&mut c.conn(), p.workspace_id, after, page_limit(limit)).await?
        };
        self.with_teams(p.workspace_id, users).await
    }

    pub async fn user(&self, p: &Principal, id: UserId) -> Result<UserView, EngineError> {
        let u = {
            let mut c = self.store.read().await?;
            people::user_by_id(&mut c.conn(), p.workspace_id, id)
                .await?
                .ok_or(EngineError::NotFound)?
        };
        self.with_teams(p.workspace_id, vec![u])
            .await?
            .pop()
            .ok_or(EngineError::NotFound)
    }

    pub async fn user_by_email(&self, ws: WorkspaceId, email: &str) -> Result<User, EngineError> {
        let mut c = self.store.read().await?;
        people::user_by_email(&mut c.conn(), ws, &email.trim().to_lowercase())
            .await?
            .map(|(u, _)| u)
            .ok_or(EngineError::NotFound)
    }

    /// Adds a user (admins only; nobody grants a role above their own).
    pub async fn add_user(&self, p: &Principal, n: NewUser) -> Result<UserView, EngineError> {
        p.require_admin()?;
        let role = n.role.unwrap_or(Role::Agent);
        if !p.role.can_grant(role) {
            return Err(EngineError::Forbidden(
                Message::new(Code::CannotCreateRole)
                    .label("role", "role", p.role.as_str())
                    .label("wanted", "role", role.as_str()),
            ));
        }
        let email = EmailAddress::parse(&n.email)?;
        let name = normalize_name(
            n.name
                .as_deref()
                .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default()),
        )?;
        let tier = Tier::new(n.tier.unwrap_or(1))?.get();
        let hash = match n.password {
            Some(pw) => Some(
                self.cpu
                    .run(move || crate::auth::hash_password(&pw))
                    .await??,
            ),
            None => None,
        };
        let now = self.store.now();
        let u = User {
            id: UserId::new(),
            workspace_id: p.workspace_id,
            email: email.as_str().to_owned(),
            name,
            role,
            tier,
            languages: languages(&n.languages)?,
            skills: skills(&n.skills)?,
            capacity: capacity(n.capacity.unwrap_or(10))?,
            channel_capacity: channel_capacity(n.channel_capacity.clone())?,
            presence: "offline".into(),
            presence_seen_at: None,
            routed_at: 0,
            active: true,
            created_at: now,
            updated_at: now,
            preferences: Default::default(),
        };
        let (u2, teams, actor) = (u.clone(), n.team_ids.clone(), p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    people::insert_user(tx, &u2, hash.as_deref())
                        .await
                        .map_err(conflict(Code::TakenUserEmail))?;
                    people::set_user_teams(tx, u2.workspace_id, u2.id, &teams)
                        .await
                        .map_err(|e| match e {
                            StoreError::NotFound => {
                                EngineError::Unknown("team_ids".into(), message::no_such("team"))
                            }
                            e => e.into(),
                        })?;
                    tx.emit(
                        u2.workspace_id,
                        actor,
                        EventData::UserCreated {
                            user_id: u2.id,
                            email: u2.email.clone(),
                            role: u2.role,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(UserView {
            user: u,
            team_ids: n.team_ids,
        })
    }

    /// Changes a user. Admins change anyone (within their grant); anyone changes
    /// their own name, languages and presence.
    pub async fn update_user(
        &self,
        p: &Principal,
        id: UserId,
        patch: UserPatch,
    ) -> Result<UserView, EngineError> {
        let mut view = self.user(p, id).await?;
        let admin_fields = patch.role.is_some()
            || patch.tier.is_some()
            || patch.skills.is_some()
            || patch.team_ids.is_some()
            || patch.capacity.is_some()
            || patch.channel_capacity.is_some()
            || patch.active.is_some();
        if id != p.user_id || admin_fields {
            p.require_admin()?;
        }
        let u = &mut view.user;
        if u.role == Role::Owner && p.role != Role::Owner && id != p.user_id {
            return Err(EngineError::Forbidden(Code::OwnerByOwner.into()));
        }
        let mut changes = Vec::new();
        if let Some(name) = patch.name {
            let name = normalize_name(&name)?;
            record(&mut changes, "name", &mut u.name, name);
        }
        if let Some(role) = patch.role {
            if !p.role.can_grant(role) {
                return Err(EngineError::Forbidden(
                    Message::new(Code::CannotGrantRole)
                        .label("role", "role", p.role.as_str())
                        .label("wanted", "role", role.as_str()),
                ));
            }
            record(&mut changes, "role", &mut u.role, role);
        }
        if let Some(t) = patch.tier {
            let t = Tier::new(t)?.get();
            record(&mut changes, "tier", &mut u.tier, t);
        }
        if let Some(l) = patch.languages {
            let l = languages(&l)?;
            record(&mut changes, "languages", &mut u.languages, l);
        }
        if let Some(s) = patch.skills {
            let s = skills(&s)?;
            record(&mut changes, "skills", &mut u.skills, s);
        }
        if let Some(c) = patch.capacity {
            let c = capacity(c)?;
            record(&mut changes, "capacity", &mut u.capacity, c);
        }
        if let Some(m) = patch.channel_capacity {
            let m = channel_capacity(m)?;
            record(&mut changes, "channel_capacity", &mut u.channel_capacity, m);
        }
        if let Some(pr) = patch.presence {
            if !matches!(pr.as_str(), "online" | "away" | "busy" | "offline") {
                return Err(EngineError::invalid("presence", Code::PresenceValue));
            }
            record(&mut changes, "presence", &mut u.presence, pr);
        }
        if let Some(a) = patch.active {
            if id == p.user_id && !a {
                return Err(EngineError::Rule(Code::NotYourself.into()));
            }
            record(&mut changes, "active", &mut u.active, a);
        }
        if let Some(t) = &patch.team_ids {
            changes.push(Change {
                field: "team_ids".into(),
                from: json!(view.team_ids),
                to: json!(t),
            });
            view.team_ids = t.clone();
        }
        u.updated_at = self.store.now();
        let was_owner = view_was_active_owner(&changes, u);
        let deactivated = changes.iter().any(|c| c.field == "active") && !u.active;
        let (u2, teams, actor) = (view.user.clone(), patch.team_ids, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // A workspace always keeps an active owner: ownership is handed
                    // over by making another user owner first.
                    if was_owner
                        && (u2.role != Role::Owner || !u2.active)
                        && people::other_active_owners(&mut tx.conn(), u2.workspace_id, u2.id)
                            .await?
                            == 0
                    {
                        return Err(EngineError::Conflict(Code::LastOwner.into()));
                    }
                    people::update_user(tx, &u2).await?;
                    if deactivated {
                        // For good: reactivating must not bring old sessions back.
                        people::delete_user_sessions(tx, u2.workspace_id, u2.id, None).await?;
                    }
                    if let Some(teams) = teams {
                        people::set_user_teams(tx, u2.workspace_id, u2.id, &teams)
                            .await
                            .map_err(|e| match e {
                                StoreError::NotFound => EngineError::Unknown(
                                    "team_ids".into(),
                                    message::no_such("team"),
                                ),
                                e => e.into(),
                            })?;
                    }
                    tx.emit(
                        u2.workspace_id,
                        actor,
                        EventData::UserUpdated {
                            user_id: u2.id,
                            changes,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(view)
    }

    pub async fn teams(
        &self,
        p: &Principal,
        after: Option<TeamId>,
        limit: Option<i64>,
    ) -> Result<Vec<Team>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(people::list_teams(&mut c.conn(), p.workspace_id, after, page_limit(limit)).await?)
    }

    pub async fn team(
        &self,
        p: &Principal,
        id: TeamId,
    ) -> Result<(Team, Vec<UserId>), EngineError> {
        let mut c = self.store.read().await?;
        let t = people::team_by_id(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let members = people::team_members(&mut c.conn(), p.workspace_id, id).await?;
        Ok((t, members))
    }

    fn team_name(name: &str) -> Result<String, EngineError> {
        let n = domain::text::clean_line(name);
        if n.is_empty() || n.chars().count() > 100 {
            return Err(EngineError::invalid("name", message::chars(1, 100)));
        }
        Ok(n)
    }

    pub async fn create_team(
        &self,
        p: &Principal,
        name: &str,
        tier: Option<i64>,
    ) -> Result<Team, EngineError> {
        self.create_team_with(
            p,
            TeamInput {
                name: Some(name.to_owned()),
                tier,
                ..TeamInput::default()
            },
        )
        .await
    }

    /// Creates a team with its routing settings (owners and admins).
    pub async fn create_team_with(
        &self,
        p: &Principal,
        input: TeamInput,
    ) -> Result<Team, EngineError> {
        p.require_admin()?;
        let now = self.store.now();
        let mut t = Team {
            id: TeamId::new(),
            workspace_id: p.workspace_id,
            name: Self::team_name(input.name.as_deref().unwrap_or_default())?,
            tier: Tier::new(input.tier.unwrap_or(1))?.get(),
            routing: input.routing.unwrap_or(RoutingMode::Manual),
            reroute_after_s: None,
            escalate_to: None,
            created_at: now,
            updated_at: now,
        };
        let mut ignored = Vec::new();
        self.apply_team_routing(p, &mut t, &input, &mut ignored)
            .await?;
        let (t2, actor) = (t.clone(), p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    people::insert_team(tx, &t2)
                        .await
                        .map_err(conflict(Code::TakenTeamName))?;
                    tx.emit(
                        t2.workspace_id,
                        actor,
                        EventData::TeamCreated {
                            team_id: t2.id,
                            name: t2.name.clone(),
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(t)
    }

    pub async fn update_team(
        &self,
        p: &Principal,
        id: TeamId,
        name: Option<String>,
        tier: Option<i64>,
    ) -> Result<Team, EngineError> {
        self.update_team_with(
            p,
            id,
            TeamInput {
                name,
                tier,
                ..TeamInput::default()
            },
        )
        .await
    }

    /// Checks and applies a team's routing settings.
    async fn apply_team_routing(
        &self,
        p: &Principal,
        t: &mut Team,
        input: &TeamInput,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        if let Some(r) = input.routing {
            record(changes, "routing", &mut t.routing, r);
        }
        if let Some(after) = input.reroute_after_s {
            if after.is_some_and(|s| !(0..=7 * 86_400).contains(&s)) {
                return Err(EngineError::invalid("reroute_after_s", Code::RerouteAfter));
            }
            record(changes, "reroute_after_s", &mut t.reroute_after_s, after);
        }
        if let Some(to) = input.escalate_to {
            if let Some(other) = to {
                if other == t.id {
                    return Err(EngineError::invalid("escalate_to", Code::EscalateToItself));
                }
                self.team(p, other).await.map_err(|_| {
                    EngineError::Unknown("escalate_to".into(), message::no_such("team"))
                })?;
            }
            record(changes, "escalate_to", &mut t.escalate_to, to);
        }
        Ok(())
    }

    /// Changes a team and its routing settings (owners and admins).
    pub async fn update_team_with(
        &self,
        p: &Principal,
        id: TeamId,
        input: TeamInput,
    ) -> Result<Team, EngineError> {
        p.require_admin()?;
        let (mut t, _) = self.team(p, id).await?;
        let mut changes = Vec::new();
        if let Some(n) = &input.name {
            let n = Self::team_name(n)?;
            record(&mut changes, "name", &mut t.name, n);
        }
        if let Some(tier) = input.tier {
            let tier = Tier::new(tier)?.get();
            record(&mut changes, "tier", &mut t.tier, tier);
        }
        self.apply_team_routing(p, &mut t, &input, &mut changes)
            .await?;
        t.updated_at = self.store.now();
        let (t2, actor) = (t.clone(), p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    people::update_team(tx, &t2)
                        .await
                        .map_err(conflict(Code::TakenTeamName))?;
                    tx.emit(
                        t2.workspace_id,
                        actor,
                        EventData::TeamUpdated {
                            team_id: t2.id,
                            changes,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(t)
    }

    /// Creates an API token for `user` (admins, or anyone for themselves). Returns the
    /// secret, which is never shown again.
    pub async fn create_token(
        &self,
        p: &Principal,
        user: UserId,
        name: &str,
    ) -> Result<(ApiToken, String), EngineError> {
        if user != p.user_id {
            p.require_admin()?;
        }
        self.user(p, user).await?;
        let name = &domain::text::clean_line(name);
        if name.is_empty() || name.chars().count() > 100 {
            return Err(EngineError::invalid("name", message::chars(1, 100)));
        }
        let secret = crate::auth::new_secret("otk_");
        let hash = crate::auth::secret_hash(&secret);
        let t = ApiToken {
            id: TokenId::new(),
            workspace_id: p.workspace_id,
            user_id: user,
            name: name.to_owned(),
            created_at: self.store.now(),
            last_used_at: None,
            revoked_at: None,
        };
        let (t2, actor) = (t.clone(), p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    people::insert_token(tx, &t2, &hash).await?;
                    tx.emit(
                        t2.workspace_id,
                        actor,
                        EventData::TokenCreated {
                            token_id: t2.id,
                            user_id: t2.user_id,
                            name: t2.name.clone(),
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok((t, secret))
    }

    pub async fn tokens(&self, p: &Principal) -> Result<Vec<ApiToken>, EngineError> {
        let mut c = self.store.read().await?;
        let all = people::list_tokens(&mut c.conn(), p.workspace_id).await?;
        Ok(if p.role.can_administer() {
            all
        } else {
            all.into_iter().filter(|t| t.user_id == p.user_id).collect()
        })
    }

    pub async fn revoke_token(&self, p: &Principal, id: TokenId) -> Result<(), EngineError> {
        let owner = self
            .tokens(p)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(EngineError::NotFound)?;
        if owner.user_id != p.user_id {
            p.require_admin()?;
        }
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    people::revoke_token(tx, ws, id).await?;
                    tx.emit(ws, actor, EventData::TokenRevoked { token_id: id })
                        .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    pub async fn fields(&self, p: &Principal) -> Result<Vec<Field>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(tickets::fields(&mut c.conn(), p.workspace_id).await?)
    }

    /// Adds a custom field (admins); it comes last.
    pub async fn create_field(&self, p: &Principal, n: NewField) -> Result<Field, EngineError> {
        let NewField {
            key,
            label,
            field_type,
            options,
            required,
            applies_to,
        } = n;
        let (key, label) = (key.as_str(), label.as_str());
        p.require_admin()?;
        if required && applies_to != domain::fields::FieldTarget::Ticket {
            return Err(EngineError::Rule(Code::FieldRequiredTickets.into()));
        }
        validate_key(key)?;
        let options: Vec<String> = options
            .iter()
            .map(|o| domain::text::clean_line(o))
            .collect();
        validate_options(field_type, &options)?;
        let label = &domain::text::clean_line(label);
        if label.is_empty() || label.chars().count() > 200 {
            return Err(EngineError::invalid("label", message::chars(1, 200)));
        }
        let mut f = Field {
            id: FieldId::new(),
            workspace_id: p.workspace_id,
            key: key.to_owned(),
            label: label.to_owned(),
            field_type,
            options,
            required,
            created_at: self.store.now(),
            position: 0,
            archived: false,
            applies_to,
        };
        let (mut f2, actor) = (f.clone(), p.actor());
        f.position = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    // A new field comes last.
                    f2.position = tickets::fields(&mut tx.conn(), f2.workspace_id)
                        .await?
                        .iter()
                        .map(|f| f.position + 1)
                        .max()
                        .unwrap_or(0);
                    tickets::insert_field(tx, &f2)
                        .await
                        .map_err(conflict(Code::TakenFieldKey))?;
                    tx.emit(
                        f2.workspace_id,
                        actor,
                        EventData::FieldCreated {
                            field_id: f2.id,
                            key: f2.key.clone(),
                            field_type: f2.field_type,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(f2.position)
                })
            })
            .await?;
        Ok(f)
    }

    /// Changes a field's label, options (dropdowns), whether it is required,
    /// its position or whether it is archived; its key and type stay, so the
    /// values tickets have keep their meaning. Admins only.
    pub async fn update_field(
        &self,
        p: &Principal,
        id: FieldId,
        patch: FieldPatch,
    ) -> Result<Field, EngineError> {
        p.require_admin()?;
        let label = match patch.label.as_deref().map(domain::text::clean_line) {
            Some(l) if l.is_empty() || l.chars().count() > 200 => {
                return Err(EngineError::invalid("label", message::chars(1, 200)));
            }
            other => other,
        };
        let options: Option<Vec<String>> = patch
            .options
            .map(|o| o.iter().map(|x| domain::text::clean_line(x)).collect());
        if let Some(pos) = patch.position
            && !(0..=MAX_FIELD_POSITION).contains(&pos)
        {
            return Err(EngineError::invalid(
                "position",
                message::range(0, MAX_FIELD_POSITION),
            ));
        }
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut f = tickets::field(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let mut changes = Vec::new();
                    if let Some(o) = options {
                        if f.field_type != FieldType::Dropdown {
                            // Whether options fit depends on the stored type.
                            return Err(EngineError::Rule(Code::OptionsOnDropdown.into()));
                        }
                        validate_options(f.field_type, &o)?;
                        record(&mut changes, "options", &mut f.options, o);
                    }
                    if let Some(l) = label {
                        record(&mut changes, "label", &mut f.label, l);
                    }
                    if let Some(r) = patch.required {
                        if r && f.applies_to != domain::fields::FieldTarget::Ticket {
                            return Err(EngineError::Rule(Code::FieldRequiredTickets.into()));
                        }
                        record(&mut changes, "required", &mut f.required, r);
                    }
                    if let Some(pos) = patch.position {
                        record(&mut changes, "position", &mut f.position, pos);
                    }
                    if let Some(a) = patch.archived {
                        record(&mut changes, "archived", &mut f.archived, a);
                    }
                    if !changes.is_empty() {
                        tickets::update_field(tx, &f).await?;
                        tx.emit(
                            ws,
                            actor,
                            EventData::FieldUpdated {
                                field_id: f.id,
                                key: f.key.clone(),
                                changes,
                            },
                        )
                        .await?;
                    }
                    Ok::<_, EngineError>(f)
                })
            })
            .await
    }
}

/// What [`Engine::set_preferences`] changes; absent keeps, `Some(None)`
/// goes back to the workspace's.
#[derive(Debug, Default, Clone)]
pub struct PreferencesPatch {
    pub language: Option<Option<String>>,
    pub time_zone: Option<Option<String>>,
    pub signature: Option<String>,
    pub notify_replied: Option<bool>,
    pub notify_assigned: Option<bool>,
    pub notify_mentioned: Option<bool>,
    pub notify_reminders: Option<bool>,
    pub notify_desktop: Option<bool>,
    pub notify_reports: Option<bool>,
}

/// A custom field to add.
#[derive(Debug, Clone)]
pub struct NewField {
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    /// A dropdown's values.
    pub options: Vec<String>,
    /// Tickets only: a value is needed before one is solved.
    pub required: bool,
    pub applies_to: domain::fields::FieldTarget,
}

/// The highest position a field may have.
pub const MAX_FIELD_POSITION: i64 = 10_000;

/// What [`Engine::update_field`] changes; absent keeps.
#[derive(Debug, Default, Clone)]
pub struct FieldPatch {
    pub label: Option<String>,
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
    pub position: Option<i64>,
    pub archived: Option<bool>,
}

impl Engine {
    /// The acting user's own record.
    /// Changes what the acting person chose for themselves; anyone may.
    pub async fn set_preferences(
        &self,
        p: &Principal,
        patch: PreferencesPatch,
    ) -> Result<User, EngineError> {
        let me = self.me(p).await?;
        let mut prefs = me.preferences.clone();
        if let Some(l) = patch.language {
            if let Some(l) = &l
                && !["en", "ru", "th"].contains(&l.as_str())
            {
                return Err(EngineError::invalid(
                    "language",
                    domain::Message::new(Code::OneOf)
                        .with("value", l)
                        .with("values", "en, ru, th"),
                ));
            }
            prefs.language = l;
        }
        if let Some(z) = patch.time_zone {
            if let Some(z) = &z {
                crate::workspaces::validate_tz(z)?;
                // A well-formed name the zone database does not know: pages
                // could not show times in it.
                if !domain::calendar::zone_names().iter().any(|n| n == z) {
                    return Err(EngineError::Rule(
                        domain::Message::new(Code::NotTimeZone).with("time_zone", z),
                    ));
                }
            }
            prefs.time_zone = z;
        }
        if let Some(s) = patch.signature {
            let s = s.trim_end().to_owned();
            if s.chars().count() > domain::user::MAX_SIGNATURE {
                return Err(EngineError::invalid(
                    "signature",
                    message::max_chars(domain::user::MAX_SIGNATURE),
                ));
            }
            prefs.signature = s;
        }
        let n = &mut prefs.notify;
        for (slot, v) in [
            (&mut n.replied, patch.notify_replied),
            (&mut n.assigned, patch.notify_assigned),
            (&mut n.mentioned, patch.notify_mentioned),
            (&mut n.reminders, patch.notify_reminders),
            (&mut n.desktop, patch.notify_desktop),
            (&mut n.reports, patch.notify_reports),
        ] {
            if let Some(v) = v {
                *slot = v;
            }
        }
        if prefs == me.preferences {
            return Ok(me);
        }
        let mut changes = Vec::new();
        let mut before = me.preferences.clone();
        record(&mut changes, "preferences", &mut before, prefs.clone());
        let (ws, id, actor) = (p.workspace_id, p.user_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    people::set_preferences(tx, ws, id, &prefs, now).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::UserUpdated {
                            user_id: id,
                            changes,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        self.me(p).await
    }

    pub async fn me(&self, p: &Principal) -> Result<User, EngineError> {
        let mut c = self.store.read().await?;
        people::user_by_id(&mut c.conn(), p.workspace_id, p.user_id)
            .await?
            .ok_or(EngineError::Unauthorized)
    }
}

/// Whether the user was an active owner before `changes` were applied to `u`.
fn view_was_active_owner(changes: &[Change], u: &User) -> bool {
    let before = |field: &str| changes.iter().find(|c| c.field == field).map(|c| &c.from);
    let role = match before("role") {
        Some(v) => v.as_str() == Some(Role::Owner.as_str()),
        None => u.role == Role::Owner,
    };
    let active = match before("active") {
        Some(v) => v.as_bool() == Some(true),
        None => u.active,
    };
    role && active
}
