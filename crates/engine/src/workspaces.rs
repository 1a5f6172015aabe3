//! Creating workspaces and their settings.

use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::event::{Actor, EventData};
use domain::identity::{EmailAddress, normalize_language};
use domain::ids::*;
use domain::message;
use domain::user::Role;
use store::people::{self, User};
use store::workspaces::{self, Workspace};

/// A workspace's short name: 2–40 of `a-z`, `0-9` and `-`, starting with a letter.
pub fn validate_name(name: &str) -> Result<(), EngineError> {
    let ok = (2..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(EngineError::invalid("name", Code::WorkspaceNameShape))
    }
}

/// Settings an admin may change.
#[derive(Clone, Debug, Default)]
pub struct SettingsPatch {
    pub display_name: Option<String>,
    pub default_language: Option<String>,
    pub time_zone: Option<String>,
}

pub(crate) fn validate_tz(tz: &str) -> Result<(), EngineError> {
    // IANA names ("Europe/Moscow", "Asia/Bangkok") or UTC; checked for shape only.
    let ok = tz == "UTC"
        || (tz.len() <= 64
            && tz.contains('/')
            && tz.split('/').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
            }));
    if ok {
        Ok(())
    } else {
        Err(EngineError::invalid("time_zone", Code::TimeZoneName))
    }
}

impl Engine {
    /// Creates a workspace with its owner (a system action: the CLI and the demo).
    pub async fn create_workspace(
        &self,
        name: &str,
        owner_email: &str,
        password: &str,
    ) -> Result<(Workspace, User), EngineError> {
        validate_name(name)?;
        let email = EmailAddress::parse(owner_email)?;
        let pw = password.to_owned();
        let hash = self
            .cpu
            .run(move || crate::auth::hash_password(&pw))
            .await??;
        let now = self.store.now();
        let ws = Workspace {
            id: WorkspaceId::new(),
            name: name.to_owned(),
            display_name: name.to_owned(),
            default_language: "en".into(),
            time_zone: "UTC".into(),
            created_at: now,
        };
        let owner = User {
            id: UserId::new(),
            workspace_id: ws.id,
            email: email.as_str().to_owned(),
            name: email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned(),
            role: Role::Owner,
            tier: 3,
            languages: vec!["en".into()],
            skills: Vec::new(),
            capacity: 10,
            channel_capacity: Default::default(),
            presence: "offline".into(),
            presence_seen_at: None,
            routed_at: 0,
            active: true,
            created_at: now,
            updated_at: now,
            preferences: Default::default(),
        };
        let (w, u) = (ws.clone(), owner.clone());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    workspaces::insert(tx, &w).await.map_err(|e| match e {
                        store::StoreError::Conflict(_) => EngineError::Conflict(
                            Message::new(Code::WorkspaceExists)
                                .with("name", format!("{:?}", w.name)),
                        ),
                        e => e.into(),
                    })?;
                    people::insert_user(tx, &u, Some(&hash)).await?;
                    tx.emit(
                        w.id,
                        Actor::System,
                        EventData::WorkspaceCreated {
                            name: w.name.clone(),
                        },
                    )
                    .await?;
                    tx.emit(
                        w.id,
                        Actor::System,
                        EventData::UserCreated {
                            user_id: u.id,
                            email: u.email.clone(),
                            role: u.role,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok((ws, owner))
    }

    /// The principal the command line acts as in a workspace: its first active owner.
    pub async fn cli_principal(&self, workspace: &str) -> Result<Principal, EngineError> {
        let ws = self
            .workspace_by_name(workspace)
            .await
            .map_err(|e| match e {
                EngineError::NotFound => EngineError::invalid(
                    "workspace",
                    Message::new(Code::NoWorkspace).with("workspace", format!("{:?}", workspace)),
                ),
                e => e,
            })?;
        let mut c = self.store.read().await?;
        let mut after = None;
        loop {
            let page = people::list_users(&mut c.conn(), ws.id, after, 200).await?;
            if let Some(o) = page.iter().find(|u| u.role == Role::Owner && u.active) {
                return Ok(Principal {
                    workspace_id: ws.id,
                    user_id: o.id,
                    role: Role::Owner,
                    via: crate::Via::Cli,
                });
            }
            match page.last() {
                Some(u) if page.len() == 200 => after = Some(u.id),
                _ => {
                    return Err(EngineError::Rule(
                        Message::new(Code::NoOwner).with("workspace", format!("{:?}", workspace)),
                    ));
                }
            }
        }
    }

    pub async fn workspace_by_name(&self, name: &str) -> Result<Workspace, EngineError> {
        let mut c = self.store.read().await?;
        workspaces::by_name(&mut c.conn(), name)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn workspace(&self, p: &Principal) -> Result<Workspace, EngineError> {
        let mut c = self.store.read().await?;
        workspaces::by_id(&mut c.conn(), p.workspace_id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn update_workspace(
        &self,
        p: &Principal,
        patch: SettingsPatch,
    ) -> Result<Workspace, EngineError> {
        p.require_admin()?;
        let mut w = self.workspace(p).await?;
        if let Some(d) = patch.display_name {
            let d = domain::text::clean_line(&d);
            if d.is_empty() || d.chars().count() > 200 {
                return Err(EngineError::invalid("display_name", message::chars(1, 200)));
            }
            w.display_name = d;
        }
        if let Some(l) = patch.default_language {
            w.default_language = normalize_language(&l)?;
        }
        if let Some(tz) = patch.time_zone {
            validate_tz(&tz)?;
            w.time_zone = tz;
        }
        let w2 = w.clone();
        self.store
            .write(move |tx| Box::pin(async move { workspaces::update(tx, &w2).await }))
            .await?;
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_names_and_time_zones() {
        assert!(validate_name("demo").is_ok());
        assert!(validate_name("shop-2").is_ok());
        assert!(validate_name("Demo").is_err());
        assert!(validate_name("2shop").is_err());
        assert!(validate_name("a").is_err());
        assert!(validate_tz("Europe/Moscow").is_ok());
        assert!(validate_tz("America/Argentina/Buenos_Aires").is_ok());
        assert!(validate_tz("Moscow").is_err());
        assert!(validate_tz("Europe/../etc").is_err());
    }
}
