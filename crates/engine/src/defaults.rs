//! What a new workspace starts with, from the practices the product comes from
//! (all of it editable): three tiers of teams that escalate one to the next,
//! and response targets per kind of channel — minutes for chats and
//! messengers, hours for email.

use crate::people::TeamInput;
use crate::sla::PolicyInput;
use crate::{Engine, EngineError, Principal};
use domain::routing::RoutingMode;
use domain::sla::Conditions;
use domain::ticket::Channel;

/// The teams, lowest tier first: (name, tier).
pub const TEAMS: [(&str, i64); 3] = [("L1", 1), ("L2", 2), ("L3", 3)];

impl Engine {
    /// Gives a new workspace its defaults: teams L1–L3 routing to the least
    /// loaded agent and escalating one to the next, and SLA policies for chats
    /// and messengers (first reply in 5 minutes, next in 10, solved within a
    /// day) and email (first and next reply within 24 hours, solved within 3
    /// days), in calendar time until business hours are set. Owners and admins.
    pub async fn apply_defaults(&self, p: &Principal) -> Result<(), EngineError> {
        p.require_admin()?;
        let mut made = Vec::new();
        for (name, tier) in TEAMS {
            let t = self
                .create_team_with(
                    p,
                    TeamInput {
                        name: Some(name.into()),
                        tier: Some(tier),
                        routing: Some(RoutingMode::LeastLoaded),
                        // An agent who leaves keeps chats for 10 minutes, then
                        // they go back to the queue.
                        reroute_after_s: Some(Some(600)),
                        escalate_to: None,
                    },
                )
                .await?;
            made.push(t);
        }
        for pair in made.windows(2) {
            self.update_team_with(
                p,
                pair[0].id,
                TeamInput {
                    escalate_to: Some(Some(pair[1].id)),
                    ..TeamInput::default()
                },
            )
            .await?;
        }
        let messaging = vec![
            Channel::Chat,
            Channel::Telegram,
            Channel::Whatsapp,
            Channel::Vk,
            Channel::Viber,
            Channel::Facebook,
            Channel::Instagram,
        ];
        let policies = [
            (
                "Chats and messengers",
                1,
                messaging,
                (Some(5), Some(10), Some(1440)),
            ),
            (
                "Email",
                2,
                vec![Channel::Email],
                (Some(1440), Some(1440), Some(4320)),
            ),
        ];
        for (name, position, channel, targets) in policies {
            self.create_sla_policy(
                p,
                PolicyInput {
                    name: Some(name.into()),
                    position: Some(position),
                    conditions: Some(Conditions {
                        channel,
                        ..Conditions::default()
                    }),
                    targets: Some(targets),
                    warn_at: Some(Some(0.75)),
                    ..PolicyInput::default()
                },
            )
            .await?;
        }
        Ok(())
    }
}
