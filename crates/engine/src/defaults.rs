//! What a new workspace starts with, from the practices the product comes from
//! (all of it editable): three tiers of teams that escalate one to the next,
//! response targets per kind of channel — minutes for chats and messengers,
//! hours for email (which the email acknowledgement then promises) — and the
//! rules that keep a conversation from going quiet: a follow-up when a ticket
//! is solved, a reminder after three days waiting on the customer, and
//! closing four days after solving.

use crate::people::TeamInput;
use crate::rules::RuleInput;
use crate::sla::PolicyInput;
use crate::{Engine, EngineError, Principal};
use domain::routing::RoutingMode;
use domain::rules::RuleSpec;
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
        for (name, position, spec) in default_rules() {
            let spec: RuleSpec = serde_json::from_value(spec)
                .map_err(|e| EngineError::Internal(format!("default rule {name}: {e}")))?;
            self.create_rule(
                p,
                RuleInput {
                    name: Some(name.into()),
                    position: Some(position),
                    active: Some(true),
                    spec: Some(spec),
                },
            )
            .await?;
        }
        Ok(())
    }
}

/// The default rules: (name, position, spec), texts in English with Russian
/// and Thai translations.
fn default_rules() -> Vec<(&'static str, i64, serde_json::Value)> {
    use serde_json::json;
    vec![
        (
            "Follow up when solved",
            100,
            json!({
                "kind": "trigger", "on": ["ticket.updated"],
                "all": [{"field": "status_changed_to", "op": "is", "value": "solved"}],
                "actions": [{"type": "reply",
                    "body": "Hello {{customer.first_name}}, we hope your request #{{ticket.number}} is solved. If it is not, just reply to this message and we will pick it up again.",
                    "translations": {
                        "ru": "Здравствуйте, {{customer.first_name}}! Надеемся, ваш вопрос №{{ticket.number}} решён. Если нет — просто ответьте на это сообщение, и мы продолжим.",
                        "th": "สวัสดีคุณ{{customer.first_name}} เราหวังว่าคำขอ #{{ticket.number}} ของคุณได้รับการแก้ไขแล้ว หากยังไม่เรียบร้อย เพียงตอบกลับข้อความนี้ แล้วเราจะดำเนินการต่อ"
                    }}]
            }),
        ),
        (
            "Remind after 3 days pending",
            200,
            json!({
                "kind": "automation",
                "all": [{"field": "status", "op": "is", "value": "pending"},
                        {"field": "hours_since_updated", "op": "gt", "value": 72}],
                "actions": [{"type": "reply",
                    "body": "Hello {{customer.first_name}}, we are still waiting for your answer on request #{{ticket.number}}. Reply to this message when you can, and we will carry on.",
                    "translations": {
                        "ru": "Здравствуйте, {{customer.first_name}}! Мы всё ещё ждём вашего ответа по обращению №{{ticket.number}}. Ответьте на это сообщение, когда будет удобно, и мы продолжим.",
                        "th": "สวัสดีคุณ{{customer.first_name}} เรายังรอคำตอบของคุณสำหรับคำขอ #{{ticket.number}} ตอบกลับข้อความนี้เมื่อสะดวก แล้วเราจะดำเนินการต่อ"
                    }}]
            }),
        ),
        (
            "Close 4 days after solved",
            300,
            json!({
                "kind": "automation",
                "all": [{"field": "status", "op": "is", "value": "solved"},
                        {"field": "hours_since_updated", "op": "gt", "value": 96}],
                "actions": [{"type": "set_status", "status": "closed"}]
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rules_are_valid_rules() {
        for (name, _, spec) in default_rules() {
            let spec: RuleSpec =
                serde_json::from_value(spec).unwrap_or_else(|e| panic!("{name}: {e}"));
            spec.validated().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
