//! The job worker: claims due jobs from the durable queue and runs them.
//!
//! `run_once` is one pass that tests call directly; `run` loops it until shutdown.
//! Handlers are idempotent (a job may run again after a crash mid-way).

use crate::jobs::Job;
use crate::outbound::{self, Delivery, Outgoing, Refusal};
use crate::{Engine, EngineError};
use domain::ids::*;
use domain::ticket::DeliveryState;
use store::jobs;
use store::tickets;
use tokio::sync::watch;

const LEASE_MS: i64 = 5 * 60 * 1000;
/// The longest an idle worker sleeps before it looks for due jobs again.
const IDLE_MS: i64 = 250;
const BATCH: i64 = 32;

/// What one job's handler decided.
#[derive(Debug)]
pub(crate) enum Outcome {
    Done,
    /// Try again later (a passing failure).
    Retry(String),
    /// Try again no sooner than this many seconds (the remote side's rate limit).
    RetryAfter(String, u64),
}

/// Runs queued jobs.
#[derive(Clone)]
pub struct Worker {
    engine: Engine,
}

/// The delay before retry number `attempt`: 2^attempt seconds, at most one hour.
pub fn backoff_ms(attempt: i64) -> i64 {
    let secs = 1i64
        .checked_shl(attempt.clamp(0, 30) as u32)
        .unwrap_or(i64::MAX);
    secs.saturating_mul(1000).min(3_600_000)
}

impl Worker {
    pub fn new(engine: Engine) -> Worker {
        Worker { engine }
    }

    /// Claims and runs one batch of due jobs; returns how many ran. The jobs of
    /// a batch run concurrently: their writes share commits (SQLite's writer
    /// batches them) and one slow remote host does not hold up the rest.
    pub async fn run_once(&self) -> Result<usize, EngineError> {
        let claimed = jobs::claim(&self.engine.store, BATCH, LEASE_MS).await?;
        let n = claimed.len();
        let outcomes =
            futures::future::join_all(claimed.into_iter().map(|row| self.run_one(row))).await;
        for outcome in outcomes {
            if let Some((job, err)) = outcome? {
                self.gave_up(&job, err).await?;
            }
        }
        Ok(n)
    }

    /// Runs one claimed job and records how it went; returns the job and its
    /// last error when it has no attempts left.
    async fn run_one(&self, row: jobs::Job) -> Result<Option<(Job, String)>, EngineError> {
        let id = row.id;
        let job = match Job::from_stored(&row.kind, &row.payload) {
            Ok(job) => job,
            Err(reason) => {
                // No handler in this build: retrying cannot help.
                tracing::error!(job = id, error = %reason, "job buried");
                metrics::counter!("otklik_jobs_total", "kind" => "unknown", "outcome" => "dead")
                    .increment(1);
                self.engine
                    .store
                    .write(move |tx| {
                        Box::pin(
                            async move { Ok::<_, EngineError>(jobs::bury(tx, id, &reason).await?) },
                        )
                    })
                    .await?;
                return Ok(None);
            }
        };
        let kind = kind_label(&job);
        let started = std::time::Instant::now();
        let outcome = match self.execute(&job, row.attempts).await {
            Ok(o) => o,
            Err(e) => Outcome::Retry(e.to_string()),
        };
        metrics::histogram!("otklik_job_duration_seconds", "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        let attempts = row.attempts;
        match outcome {
            Outcome::Done => {
                metrics::counter!("otklik_jobs_total", "kind" => kind, "outcome" => "done")
                    .increment(1);
                self.engine
                    .store
                    .write(move |tx| {
                        Box::pin(async move { Ok::<_, EngineError>(jobs::complete(tx, id).await?) })
                    })
                    .await?;
                Ok(None)
            }
            Outcome::Retry(err) => self.retry(id, job, kind, err, backoff_ms(attempts)).await,
            Outcome::RetryAfter(err, secs) => {
                // Never sooner than asked, never later than a day.
                let asked = i64::try_from(secs.min(86_400)).unwrap_or(86_400) * 1000;
                self.retry(id, job, kind, err, backoff_ms(attempts).max(asked))
                    .await
            }
        }
    }

    /// Puts a failed job back for `wait_ms`, or buries it after its last
    /// attempt; returns the job and its last error when it died.
    async fn retry(
        &self,
        id: i64,
        job: Job,
        kind: &'static str,
        err: String,
        wait_ms: i64,
    ) -> Result<Option<(Job, String)>, EngineError> {
        let retry_at = self.engine.store.now().plus_millis(wait_ms);
        let dead = self
            .engine
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let dead = jobs::fail(tx, id, &err, retry_at).await?;
                    if dead {
                        tracing::error!(job = id, error = %err, "job is dead after its last attempt");
                    } else {
                        tracing::warn!(job = id, error = %err, "job failed; will retry");
                    }
                    Ok::<_, EngineError>(dead.then_some(err))
                })
            })
            .await?;
        let outcome = if dead.is_some() { "dead" } else { "retry" };
        metrics::counter!("otklik_jobs_total", "kind" => kind, "outcome" => outcome).increment(1);
        Ok(dead.map(|err| (job, err)))
    }

    /// A job ran out of attempts: a reply that could not be delivered is marked
    /// failed on its message, so the agent sees it.
    async fn gave_up(&self, job: &Job, err: String) -> Result<(), EngineError> {
        match job {
            Job::DeliverMessage {
                workspace_id: ws,
                message_id: mid,
            } => {
                let m = {
                    let mut c = self.engine.store.read().await?;
                    tickets::message(&mut c.conn(), *ws, *mid).await?
                };
                match m {
                    Some(m) if m.delivery_state == Some(DeliveryState::Queued) => {
                        let reason =
                            domain::Message::new(domain::Code::DeliveryGaveUp).with("reason", err);
                        self.engine
                            .set_delivery(*ws, &m, DeliveryState::Failed, Some(reason))
                            .await
                    }
                    _ => Ok(()),
                }
            }
            // An acknowledgement that never left is only logged: the ticket stands.
            Job::EmailAutoAck(_) => Ok(()),
            // Derived state: the next change to the ticket derives it again.
            Job::SlaTimer { ticket_id, .. } => {
                tracing::error!(ticket = %ticket_id, error = %err, "an SLA timer gave up");
                Ok(())
            }
            Job::Remind { reminder_id, .. } => {
                tracing::error!(reminder = %reminder_id, error = %err, "a reminder could not be given");
                Ok(())
            }
            Job::WakeTicket { ticket_id, .. } => {
                tracing::error!(ticket = %ticket_id, error = %err, "a snoozed ticket could not be woken");
                Ok(())
            }
            Job::SlaReapply { workspace_id, .. } => {
                tracing::error!(workspace = %workspace_id, error = %err, "re-matching SLA policies gave up");
                Ok(())
            }
            Job::Restage { workspace_id, .. } => {
                tracing::error!(workspace = %workspace_id, error = %err, "re-staging the journey gave up; saving the rules again restarts it");
                Ok(())
            }
            // `rules_changed` restarts a chain whose job was lost.
            Job::Automations { workspace_id, .. } => {
                tracing::error!(workspace = %workspace_id, error = %err, "an automation sweep gave up");
                Ok(())
            }
            Job::NotifyEmail { user_id, .. } => {
                tracing::warn!(user = %user_id, error = %err, "a rule's email to an agent gave up");
                Ok(())
            }
            Job::Webhook { rule_id, url, .. } => {
                tracing::warn!(rule = %rule_id, url = %url, error = %err, "a rule's webhook was not delivered");
                Ok(())
            }
            Job::Reroute { user_id, .. } => {
                tracing::error!(user = %user_id, error = %err, "handing an offline agent's tickets back gave up");
                Ok(())
            }
            // Its own attempts are the delivery's; a job that died is logged.
            Job::WebhookDelivery { delivery_id, .. } => {
                tracing::error!(delivery = %delivery_id, error = %err, "a webhook delivery gave up");
                Ok(())
            }
            Job::Outreach { outreach_id, .. } => {
                tracing::error!(outreach = %outreach_id, error = %err, "an outreach message gave up");
                Ok(())
            }
            Job::BotTurn {
                workspace_id,
                message_id,
            } => {
                tracing::error!(message = %message_id, error = %err, "the bot's turn gave up; people take the conversation");
                self.engine.bot_gave_up(*workspace_id, *message_id).await
            }
            // The message stays untriaged; agents sort it themselves.
            Job::Triage { message_id, .. } => {
                tracing::error!(message = %message_id, error = %err, "triage of a message gave up");
                Ok(())
            }
            Job::NotifyTelegram { user_id, .. } => {
                tracing::warn!(user = %user_id, error = %err, "a Telegram message to an agent gave up");
                Ok(())
            }
            Job::FetchFiles { message_id, .. } => {
                tracing::error!(message = %message_id, error = %err, "a message's files were not fetched");
                Ok(())
            }
            Job::SideEmail {
                workspace_id,
                side_message_id,
            } => {
                let why = domain::Message::new(domain::Code::DeliveryGaveUp).with("reason", err);
                self.engine
                    .side_delivered(*workspace_id, *side_message_id, Some(why))
                    .await
            }
            // `save_digest_settings` starts a chain again when turned off and on.
            Job::ReportDigest {
                workspace_id,
                period,
                ..
            } => {
                tracing::error!(workspace = %workspace_id, period = period.as_str(), error = %err, "a report digest gave up");
                Ok(())
            }
            Job::DigestEmail { user_id, .. } => {
                tracing::warn!(user = %user_id, error = %err, "a report digest email gave up");
                Ok(())
            }
            // The next solve schedules the customer again.
            Job::NpsDue { customer_id, .. } => {
                tracing::warn!(customer = %customer_id, error = %err, "an NPS survey was not made");
                Ok(())
            }
            // The ticket stands; only the question was not asked.
            Job::SurveyEmail { survey_id, .. } | Job::SurveyChat { survey_id, .. } => {
                tracing::warn!(survey = %survey_id, error = %err, "a survey was not sent");
                Ok(())
            }
            // The reply stands in the chat; only its email copy was lost.
            Job::ChatEmail { message_id, .. } => {
                tracing::warn!(message = %message_id, error = %err, "a chat reply's email copy was not sent");
                Ok(())
            }
        }
    }

    /// Runs jobs until `shutdown` turns true; idles briefly when the queue is empty.
    /// Once an hour (and a minute after starting) it also does the housekeeping.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let hour = std::time::Duration::from_secs(3600);
        let mut next_housekeeping =
            tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        let sweep_every = std::time::Duration::from_secs(30);
        let mut next_sweep = tokio::time::Instant::now() + sweep_every;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if tokio::time::Instant::now() >= next_sweep {
                next_sweep += sweep_every;
                if let Err(e) = self.engine.presence_sweep().await {
                    tracing::warn!(error = %e, "the presence sweep failed");
                }
            }
            if tokio::time::Instant::now() >= next_housekeeping {
                next_housekeeping += hour;
                if let Err(e) = self
                    .engine
                    .collect_unattached(
                        crate::housekeeping::UNATTACHED_TTL,
                        crate::housekeeping::BLOB_GRACE,
                    )
                    .await
                {
                    tracing::warn!(error = %e, "housekeeping failed; trying again in an hour");
                }
                if let Err(e) = self.engine.prune_trend_hits().await {
                    tracing::warn!(error = %e, "pruning trend hits failed; trying again in an hour");
                }
            }
            let idle = match self.run_once().await {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => {
                    tracing::error!(error = %e, "job worker pass failed");
                    true
                }
            };
            if idle {
                // Until the next job falls due (a timer), at most 250 ms: jobs
                // queued meanwhile, here or on another node, wait no longer.
                let pause = self
                    .until_next_due()
                    .await
                    .unwrap_or(IDLE_MS)
                    .clamp(1, IDLE_MS);
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(pause as u64)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Milliseconds until the next queued job is due.
    async fn until_next_due(&self) -> Option<i64> {
        let mut c = self.engine.store.read().await.ok()?;
        let next = jobs::next_due(&mut c.conn()).await.ok()??;
        Some(next.millis() - self.engine.store.now().millis())
    }

    async fn execute(&self, job: &Job, attempts: i64) -> Result<Outcome, EngineError> {
        match job {
            Job::DeliverMessage {
                workspace_id,
                message_id,
            } => self.deliver(*workspace_id, *message_id, attempts).await,
            Job::ChatEmail {
                workspace_id,
                message_id,
            } => match self
                .engine
                .chat_email(*workspace_id, *message_id, attempts)
                .await?
            {
                Delivery::Sent => Ok(Outcome::Done),
                Delivery::Retry(e) => Ok(Outcome::Retry(e.to_string())),
                Delivery::RetryAfter(e, s) => Ok(Outcome::RetryAfter(e.to_string(), s)),
                Delivery::Failed(e) => {
                    tracing::warn!(message = %message_id, error = %e, "a chat reply's email copy was not sent");
                    Ok(Outcome::Done)
                }
            },
            Job::SlaTimer {
                workspace_id,
                ticket_id,
                at,
            } => {
                self.engine
                    .sla_timer(*workspace_id, *ticket_id, *at)
                    .await?;
                Ok(Outcome::Done)
            }
            Job::Remind {
                workspace_id,
                reminder_id,
            } => {
                self.engine.remind(*workspace_id, *reminder_id).await?;
                Ok(Outcome::Done)
            }
            Job::WakeTicket {
                workspace_id,
                ticket_id,
                at,
            } => {
                self.engine
                    .wake_ticket(*workspace_id, *ticket_id, *at)
                    .await?;
                Ok(Outcome::Done)
            }
            Job::SlaReapply {
                workspace_id,
                after,
            } => {
                self.engine.sla_reapply(*workspace_id, *after).await?;
                Ok(Outcome::Done)
            }
            Job::Restage {
                workspace_id,
                after,
            } => {
                self.engine.restage(*workspace_id, *after).await?;
                Ok(Outcome::Done)
            }
            Job::Reroute {
                workspace_id,
                user_id,
                team_id,
            } => {
                self.engine
                    .reroute(*workspace_id, *user_id, *team_id)
                    .await?;
                Ok(Outcome::Done)
            }
            Job::Automations {
                workspace_id,
                after,
            } => {
                self.engine.sweep_automations(*workspace_id, *after).await?;
                Ok(Outcome::Done)
            }
            Job::Webhook { .. } => self.engine.send_webhook(job).await,
            Job::WebhookDelivery {
                workspace_id,
                delivery_id,
            } => {
                self.engine
                    .deliver_webhook(*workspace_id, *delivery_id)
                    .await
            }
            Job::Outreach {
                workspace_id,
                outreach_id,
            } => self.engine.send_outreach(*workspace_id, *outreach_id).await,
            Job::Triage {
                workspace_id,
                message_id,
            } => self.engine.triage_message(*workspace_id, *message_id).await,
            Job::BotTurn {
                workspace_id,
                message_id,
            } => self.engine.bot_turn(*workspace_id, *message_id).await,
            Job::NotifyTelegram {
                workspace_id,
                user_id,
                ticket_id,
                text,
            } => match self
                .engine
                .notify_telegram(*workspace_id, *user_id, *ticket_id, text)
                .await?
            {
                Delivery::Sent => Ok(Outcome::Done),
                Delivery::Retry(e) => Ok(Outcome::Retry(e.to_string())),
                Delivery::RetryAfter(e, s) => Ok(Outcome::RetryAfter(e.to_string(), s)),
                Delivery::Failed(e) => {
                    tracing::warn!(user = %user_id, error = %e, "a Telegram message to an agent was not sent");
                    Ok(Outcome::Done)
                }
            },
            Job::FetchFiles {
                workspace_id,
                account_id,
                ticket_id,
                message_id,
                files,
            } => match self
                .engine
                .fetch_files(
                    *workspace_id,
                    *account_id,
                    (*ticket_id, *message_id),
                    files,
                    attempts,
                )
                .await?
            {
                Delivery::Sent | Delivery::Failed(_) => Ok(Outcome::Done),
                Delivery::Retry(e) => Ok(Outcome::Retry(e.to_string())),
                Delivery::RetryAfter(e, s) => Ok(Outcome::RetryAfter(e.to_string(), s)),
            },
            Job::NotifyEmail {
                workspace_id,
                user_id,
                ticket_id,
                text,
            } => match self
                .engine
                .notify_email(*workspace_id, *user_id, *ticket_id, text)
                .await?
            {
                Delivery::Sent => Ok(Outcome::Done),
                Delivery::Retry(e) => Ok(Outcome::Retry(e.to_string())),
                Delivery::RetryAfter(e, s) => Ok(Outcome::RetryAfter(e.to_string(), s)),
                Delivery::Failed(e) => {
                    tracing::warn!(user = %user_id, error = %e, "a rule's email to an agent was not sent");
                    Ok(Outcome::Done)
                }
            },
            Job::SideEmail {
                workspace_id,
                side_message_id,
            } => match self
                .engine
                .deliver_side_email(*workspace_id, *side_message_id, attempts)
                .await?
            {
                Delivery::Sent => Ok(Outcome::Done),
                Delivery::Retry(e) => Ok(Outcome::Retry(e.to_string())),
                Delivery::RetryAfter(e, s) => Ok(Outcome::RetryAfter(e.to_string(), s)),
                Delivery::Failed(e) => {
                    self.engine
                        .side_delivered(*workspace_id, *side_message_id, Some(e))
                        .await?;
                    Ok(Outcome::Done)
                }
            },
            Job::SurveyChat {
                workspace_id,
                survey_id,
            } => {
                self.engine
                    .ask_in_conversation(*workspace_id, *survey_id)
                    .await?;
                Ok(Outcome::Done)
            }
            Job::ReportDigest {
                workspace_id,
                period,
                start,
            } => {
                self.engine
                    .report_digest(*workspace_id, *period, start.clone())
                    .await?;
                Ok(Outcome::Done)
            }
            Job::DigestEmail {
                workspace_id,
                user_id,
                period,
                start,
            } => match self
                .engine
                .digest_email(*workspace_id, *user_id, *period, start)
                .await?
            {
                Delivery::Sent => Ok(Outcome::Done),
                Delivery::Retry(e) => Ok(Outcome::Retry(e.to_string())),
                Delivery::RetryAfter(e, s) => Ok(Outcome::RetryAfter(e.to_string(), s)),
                Delivery::Failed(e) => {
                    tracing::warn!(user = %user_id, error = %e, "a report digest was not sent");
                    Ok(Outcome::Done)
                }
            },
            Job::NpsDue {
                workspace_id,
                customer_id,
            } => {
                self.engine.nps_due(*workspace_id, *customer_id).await?;
                Ok(Outcome::Done)
            }
            Job::SurveyEmail {
                workspace_id,
                survey_id,
            } => match self.engine.send_survey(*workspace_id, *survey_id).await? {
                Delivery::Sent => Ok(Outcome::Done),
                Delivery::Retry(e) => Ok(Outcome::Retry(e.to_string())),
                Delivery::RetryAfter(e, s) => Ok(Outcome::RetryAfter(e.to_string(), s)),
                Delivery::Failed(e) => {
                    tracing::warn!(survey = %survey_id, error = %e, "a survey was not sent");
                    Ok(Outcome::Done)
                }
            },
            Job::EmailAutoAck(ack) => match self.engine.send_auto_ack(ack).await? {
                Delivery::Sent => Ok(Outcome::Done),
                Delivery::Retry(e) => Ok(Outcome::Retry(e.to_string())),
                Delivery::RetryAfter(e, s) => Ok(Outcome::RetryAfter(e.to_string(), s)),
                Delivery::Failed(e) => {
                    tracing::warn!(ticket = %ack.ticket_id, error = %e, "automatic acknowledgement not sent");
                    Ok(Outcome::Done)
                }
            },
        }
    }

    /// Delivers a public reply through its channel's adapter, after the one
    /// outbound guard.
    async fn deliver(
        &self,
        ws: WorkspaceId,
        mid: MessageId,
        attempts: i64,
    ) -> Result<Outcome, EngineError> {
        let (m, ticket, customer_wrote_at) = {
            let mut c = self.engine.store.read().await?;
            let Some(m) = tickets::message(&mut c.conn(), ws, mid).await? else {
                return Ok(Outcome::Done);
            };
            let Some(t) = tickets::get(&mut c.conn(), ws, m.ticket_id).await? else {
                return Ok(Outcome::Done);
            };
            let wrote = tickets::last_customer_message_at(&mut c.conn(), ws, t.id).await?;
            let template = tickets::message_template(&mut c.conn(), ws, mid).await?;
            (m, t, (wrote, template))
        };
        let (customer_wrote_at, template) = customer_wrote_at;
        match outbound::guard(
            &m,
            customer_wrote_at,
            self.engine.store.now(),
            template.is_some(),
        ) {
            Ok(()) => {}
            Err(Refusal::NeverLeaves(what)) => {
                tracing::error!(message = %mid, "refused to deliver {what}");
                return Ok(Outcome::Done);
            }
            Err(Refusal::Closed(why)) => {
                self.engine
                    .set_delivery(ws, &m, DeliveryState::Failed, Some(why))
                    .await?;
                return Ok(Outcome::Done);
            }
        }
        if matches!(
            m.delivery_state,
            Some(DeliveryState::Sent | DeliveryState::Delivered | DeliveryState::Read)
        ) {
            return Ok(Outcome::Done);
        }
        let buttons = self.engine.survey_buttons(&m).await?;
        let out = Outgoing {
            message: m,
            ticket,
            attempt: attempts,
            template,
            buttons,
        };
        let (state, error) = match outbound::adapter(out.message.channel)
            .deliver(&self.engine, &out)
            .await?
        {
            Delivery::Sent => (DeliveryState::Sent, None),
            Delivery::Failed(e) => (DeliveryState::Failed, Some(e)),
            Delivery::Retry(e) => {
                // Still queued; the reason shows on the message meanwhile.
                self.engine
                    .set_delivery(ws, &out.message, DeliveryState::Queued, Some(e.clone()))
                    .await?;
                return Ok(Outcome::Retry(e.to_string()));
            }
            Delivery::RetryAfter(e, secs) => {
                self.engine
                    .set_delivery(ws, &out.message, DeliveryState::Queued, Some(e.clone()))
                    .await?;
                return Ok(Outcome::RetryAfter(e.to_string(), secs));
            }
        };
        self.engine
            .set_delivery(ws, &out.message, state, error)
            .await?;
        Ok(Outcome::Done)
    }
}

/// The job's kind as a metrics label.
fn kind_label(job: &Job) -> &'static str {
    match job {
        Job::DeliverMessage { .. } => "deliver_message",
        Job::EmailAutoAck(_) => "email_auto_ack",
        Job::ChatEmail { .. } => "chat_email",
        Job::SideEmail { .. } => "side_email",
        Job::SurveyEmail { .. } => "survey_email",
        Job::SurveyChat { .. } => "survey_chat",
        Job::NpsDue { .. } => "nps_due",
        Job::ReportDigest { .. } => "report_digest",
        Job::DigestEmail { .. } => "digest_email",
        Job::SlaTimer { .. } => "sla_timer",
        Job::WakeTicket { .. } => "wake_ticket",
        Job::Remind { .. } => "remind",
        Job::SlaReapply { .. } => "sla_reapply",
        Job::Restage { .. } => "restage",
        Job::Reroute { .. } => "reroute",
        Job::Automations { .. } => "automations",
        Job::Webhook { .. } => "webhook",
        Job::NotifyEmail { .. } => "notify_email",
        Job::FetchFiles { .. } => "fetch_files",
        Job::NotifyTelegram { .. } => "notify_telegram",
        Job::WebhookDelivery { .. } => "webhook_delivery",
        Job::Outreach { .. } => "outreach",
        Job::Triage { .. } => "triage",
        Job::BotTurn { .. } => "bot_turn",
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_and_caps_at_an_hour() {
        assert_eq!(backoff_ms(0), 1000);
        assert_eq!(backoff_ms(3), 8000);
        assert_eq!(backoff_ms(40), 3_600_000);
        assert_eq!(backoff_ms(-5), 1000);
    }
}
