//! Report digests: a weekly and a monthly summary of the KPIs mailed to the
//! workspace's supervisors, admins and owners, each in their language.
//!
//! Scheduled as a durable job chain per workspace and period
//! ([`Job::ReportDigest`]): turning a digest on queues the job for the
//! current period at [`SEND_HOUR`] local time on the day after it ends; the
//! job claims the period (`report_digests`, one row each — a second chain,
//! or a job run twice, finds it claimed and stops), queues one
//! [`Job::DigestEmail`] per recipient and the job for the next period. A
//! chain that finds its digest turned off ends; a server that was down for
//! long resumes with the latest complete period rather than mailing every
//! one it missed. Each email is built when it is sent, from the same KPI
//! report the API serves: the figures against the period before, bar charts
//! of new tickets and of first-response time per day (HTML tables, which
//! every mail client draws), and the teams' figures.

use crate::email::{Address, Delivery, OutgoingEmail};
use crate::jobs::Job;
use crate::kpis::{KpiReport, KpiRow};
use crate::{Engine, EngineError, Principal, Via};
use domain::Code;
use domain::Timestamp;
use domain::digest::{DigestPeriod, DigestSettings, SEND_HOUR};
use domain::ids::*;
use domain::kpi::{GroupBy, Zone, date_of, day_of};
use domain::ticket::Channel;
use store::Tx;
use store::digests as db;

const HOUR_MS: i64 = 3_600_000;

/// When the digest of the period ending before local day `end` goes out.
fn send_at(zone: &Zone, end: i64) -> Option<Timestamp> {
    zone.start(end)
        .map(|ms| Timestamp::from_millis(ms + SEND_HOUR * HOUR_MS))
}

/// Queues the digest of the current period (the chain's first link).
async fn start_chain(
    tx: &mut Tx,
    ws: WorkspaceId,
    period: DigestPeriod,
) -> Result<(), EngineError> {
    let zone = crate::kpis::zone_of(&mut tx.conn(), ws).await?;
    let today = zone.day(tx.now().millis());
    let (start, end) = period.span(today);
    if let Some(at) = send_at(&zone, end) {
        Job::ReportDigest {
            workspace_id: ws,
            period,
            start: date_of(start),
        }
        .enqueue(tx, at)
        .await?;
    }
    Ok(())
}

impl Engine {
    /// Which digests the workspace sends. Supervisors and up.
    pub async fn digest_settings(&self, p: &Principal) -> Result<DigestSettings, EngineError> {
        if !p.role.can_supervise() {
            return Err(EngineError::Forbidden(Code::ReportReaders.into()));
        }
        let mut c = self.store.read().await?;
        Ok(db::settings(&mut c.conn(), p.workspace_id).await?)
    }

    /// Turns digests on or off (admins); one turned on starts its chain.
    pub async fn save_digest_settings(
        &self,
        p: &Principal,
        s: DigestSettings,
    ) -> Result<DigestSettings, EngineError> {
        p.require_admin()?;
        let ws = p.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let before = db::settings(&mut tx.conn(), ws).await?;
                    db::save_settings(tx, ws, &s).await?;
                    for period in DigestPeriod::ALL {
                        if s.wants(*period) && !before.wants(*period) {
                            start_chain(tx, ws, *period).await?;
                        }
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(s)
    }

    /// A period's digest is due (the job): claimed once, one email queued
    /// per recipient, the next period's job queued.
    pub(crate) async fn report_digest(
        &self,
        ws: WorkspaceId,
        period: DigestPeriod,
        start: String,
    ) -> Result<(), EngineError> {
        let Some(first) = day_of(&start) else {
            return Err(EngineError::Internal(format!(
                "a digest job with a bad start {start:?}"
            )));
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !db::settings(&mut tx.conn(), ws).await?.wants(period) {
                        return Ok(());
                    }
                    let now = tx.now();
                    if !db::claim(tx, ws, period, &start, now).await? {
                        return Ok(());
                    }
                    for user in recipients(tx, ws).await? {
                        Job::DigestEmail {
                            workspace_id: ws,
                            user_id: user,
                            period,
                            start: start.clone(),
                        }
                        .enqueue(tx, now)
                        .await?;
                    }
                    // The next period — or, after a long stop, the latest
                    // complete one.
                    let zone = crate::kpis::zone_of(&mut tx.conn(), ws).await?;
                    let (_, mut next) = period.span(first);
                    for _ in 0..1000 {
                        let (_, end) = period.span(next);
                        let (_, after) = period.span(end);
                        match send_at(&zone, after) {
                            Some(t) if t.millis() <= now.millis() => next = end,
                            _ => break,
                        }
                    }
                    let (_, end) = period.span(next);
                    if let Some(at) = send_at(&zone, end) {
                        Job::ReportDigest {
                            workspace_id: ws,
                            period,
                            start: date_of(next),
                        }
                        .enqueue(tx, at)
                        .await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// One person's digest (the job): built now, in their language, sent
    /// through the workspace's first mailbox that sends.
    pub(crate) async fn digest_email(
        &self,
        ws: WorkspaceId,
        user: UserId,
        period: DigestPeriod,
        start: &str,
    ) -> Result<Delivery, EngineError> {
        let (person, workspace, boxes) = {
            let mut c = self.store.read().await?;
            (
                store::people::user_by_id(&mut c.conn(), ws, user).await?,
                store::workspaces::by_id(&mut c.conn(), ws).await?,
                store::channels::list(&mut c.conn(), ws, Channel::Email).await?,
            )
        };
        let (Some(person), Some(workspace)) = (person, workspace) else {
            return Ok(Delivery::Failed(Code::DeliveryGone.into()));
        };
        // Their role or wish may have changed since the digest was queued.
        if !person.active || !person.role.can_supervise() || !person.preferences.notify.reports {
            return Ok(Delivery::Sent);
        }
        let Some(account) = boxes.into_iter().find(|b| b.active && b.outbound.is_some()) else {
            return Ok(Delivery::Failed(Code::DeliveryNoSmtp.into()));
        };
        let Some(first) = day_of(start) else {
            return Ok(Delivery::Failed(Code::DeliveryGone.into()));
        };
        let (from, to) = period.span(first);
        let (prev_from, _) = period.before(from);
        let p = Principal {
            workspace_id: ws,
            user_id: user,
            role: person.role,
            via: Via::Cli,
        };
        let (f, t, pf) = (date_of(from), date_of(to), date_of(prev_from));
        let days = self
            .kpi_report(&p, Some(&f), Some(&t), Some(GroupBy::Day))
            .await?;
        let before = self.kpi_report(&p, Some(&pf), Some(&f), None).await?;
        let teams = self
            .kpi_report(&p, Some(&f), Some(&t), Some(GroupBy::Team))
            .await?;
        let lang = person
            .preferences
            .language
            .clone()
            .unwrap_or_else(|| workspace.default_language.clone());
        let brand = if workspace.display_name.is_empty() {
            workspace.name.clone()
        } else {
            workspace.display_name.clone()
        };
        let link = self
            .public_url
            .as_deref()
            .map(|u| format!("{}/app/reports?from={f}&to={t}", u.trim_end_matches('/')));
        let last_day = date_of(to - 1);
        let mail = Digest {
            words: words(&lang),
            period,
            brand: &brand,
            from: &f,
            last: &last_day,
            days: &days,
            before: &before.total,
            teams: &teams,
            link: link.as_deref(),
        };
        let mb = self.open_mailbox(account)?;
        let out = OutgoingEmail {
            from: Address {
                name: Some(mb.sender_name()),
                address: mb.address.clone(),
            },
            to: vec![Address {
                name: Some(person.name.clone()).filter(|n| !n.is_empty()),
                address: person.email.clone(),
            }],
            cc: Vec::new(),
            reply_to: None,
            subject: mail.subject(),
            message_id: format!(
                "otk.digest-{}-{}-{start}-{}@{}",
                period.as_str(),
                ws.0.simple(),
                user.0.simple(),
                mb.domain()
            ),
            in_reply_to: None,
            references: Vec::new(),
            text: mail.text(),
            html: Some(mail.html()),
            attachments: Vec::new(),
            auto_submitted: true,
            language: Some(lang),
            mailbox: mb,
        };
        let transport = match self.transport() {
            Ok(t) => t,
            Err(reason) => return Ok(Delivery::Failed(domain::Message::verbatim(reason))),
        };
        Ok(match transport.send(&out).await {
            Ok(()) => Delivery::Sent,
            Err(e) if e.permanent => Delivery::Failed(crate::messenger::remote(e.reason)),
            Err(e) => Delivery::Retry(crate::messenger::remote(e.reason)),
        })
    }
}

/// Active supervisors, admins and owners who take report emails.
async fn recipients(tx: &mut Tx, ws: WorkspaceId) -> Result<Vec<UserId>, EngineError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store::people::list_users(&mut tx.conn(), ws, after, 500).await?;
        after = page.last().map(|u| u.id);
        out.extend(
            page.iter()
                .filter(|u| u.active && u.role.can_supervise() && u.preferences.notify.reports)
                .map(|u| u.id),
        );
        if page.len() < 500 {
            return Ok(out);
        }
    }
}

/// A digest's words in one language.
struct Words {
    weekly: &'static str,
    monthly: &'static str,
    previous: &'static str,
    change: &'static str,
    created: &'static str,
    solved: &'static str,
    backlog: &'static str,
    frt: &'static str,
    resolution: &'static str,
    csat: &'static str,
    nps: &'static str,
    fcr: &'static str,
    escalation: &'static str,
    bot: &'static str,
    sla: &'static str,
    by_day_created: &'static str,
    by_day_frt: &'static str,
    teams: &'static str,
    team: &'static str,
    no_team: &'static str,
    open: &'static str,
    why: &'static str,
    h: &'static str,
    min: &'static str,
    d: &'static str,
}

fn words(lang: &str) -> Words {
    match lang.split(['-', '_']).next().unwrap_or(lang) {
        "ru" => Words {
            weekly: "Отчёт за неделю",
            monthly: "Отчёт за месяц",
            previous: "Прошлый период",
            change: "Изменение",
            created: "Новые заявки",
            solved: "Решено",
            backlog: "Не решено на конец периода",
            frt: "Первый ответ (медиана)",
            resolution: "Время решения (медиана)",
            csat: "CSAT",
            nps: "NPS",
            fcr: "Решено с первого ответа",
            escalation: "Эскалации",
            bot: "Решено ботом",
            sla: "Соблюдение SLA",
            by_day_created: "Новые заявки по дням",
            by_day_frt: "Первый ответ по дням (медиана)",
            teams: "Команды",
            team: "Команда",
            no_team: "Без команды",
            open: "Открыть отчёты",
            why: "Вы получаете это письмо как руководитель или администратор. Отключить: Настройки → Уведомления.",
            h: "ч",
            min: "мин",
            d: "дн",
        },
        "th" => Words {
            weekly: "รายงานประจำสัปดาห์",
            monthly: "รายงานประจำเดือน",
            previous: "ช่วงก่อนหน้า",
            change: "เปลี่ยนแปลง",
            created: "เรื่องใหม่",
            solved: "แก้ไขแล้ว",
            backlog: "ค้างอยู่ ณ สิ้นช่วง",
            frt: "ตอบครั้งแรก (มัธยฐาน)",
            resolution: "เวลาแก้ไข (มัธยฐาน)",
            csat: "CSAT",
            nps: "NPS",
            fcr: "แก้ไขได้ในการตอบครั้งแรก",
            escalation: "การส่งต่อระดับสูงขึ้น",
            bot: "บอทแก้ไขได้เอง",
            sla: "เป็นไปตาม SLA",
            by_day_created: "เรื่องใหม่รายวัน",
            by_day_frt: "ตอบครั้งแรกรายวัน (มัธยฐาน)",
            teams: "ทีม",
            team: "ทีม",
            no_team: "ไม่มีทีม",
            open: "เปิดรายงาน",
            why: "คุณได้รับอีเมลนี้ในฐานะหัวหน้างานหรือผู้ดูแลระบบ ปิดได้ที่ การตั้งค่า → การแจ้งเตือน",
            h: "ชม.",
            min: "นาที",
            d: "วัน",
        },
        _ => Words {
            weekly: "Weekly report",
            monthly: "Monthly report",
            previous: "Period before",
            change: "Change",
            created: "New tickets",
            solved: "Solved",
            backlog: "Unsolved at the end",
            frt: "First response (median)",
            resolution: "Resolution time (median)",
            csat: "CSAT",
            nps: "NPS",
            fcr: "First-contact resolution",
            escalation: "Escalations",
            bot: "Bot containment",
            sla: "SLA compliance",
            by_day_created: "New tickets by day",
            by_day_frt: "First response by day (median)",
            teams: "Teams",
            team: "Team",
            no_team: "No team",
            open: "Open the reports",
            why: "You get this email as a supervisor or admin. To stop it: Preferences → Alerts.",
            h: "h",
            min: "min",
            d: "d",
        },
    }
}

/// One figure of the summary: its label, this period's and the period
/// before's values, and how to show one.
struct Figure {
    label: &'static str,
    now: Option<f64>,
    before: Option<f64>,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Count,
    Seconds,
    Share,
    Score,
}

/// One digest, ready to be written as text and as HTML.
struct Digest<'a> {
    words: Words,
    period: DigestPeriod,
    brand: &'a str,
    from: &'a str,
    last: &'a str,
    days: &'a KpiReport,
    before: &'a KpiRow,
    teams: &'a KpiReport,
    link: Option<&'a str>,
}

use crate::markdown::escape_attr as esc;

impl Digest<'_> {
    fn title(&self) -> &'static str {
        match self.period {
            DigestPeriod::Week => self.words.weekly,
            DigestPeriod::Month => self.words.monthly,
        }
    }

    fn subject(&self) -> String {
        format!(
            "{}: {} · {} – {}",
            self.title(),
            self.brand,
            self.from,
            self.last
        )
    }

    fn show(&self, v: Option<f64>, kind: Kind) -> String {
        let Some(v) = v else {
            return "—".into();
        };
        let w = &self.words;
        match kind {
            Kind::Count => format!("{v:.0}"),
            Kind::Share => format!("{:.0}%", v * 100.0),
            Kind::Score => format!("{v:+.0}"),
            Kind::Seconds if v < 3600.0 => format!("{:.0} {}", (v / 60.0).max(0.0), w.min),
            Kind::Seconds if v < 86_400.0 => format!("{:.1} {}", v / 3600.0, w.h),
            Kind::Seconds => format!("{:.1} {}", v / 86_400.0, w.d),
        }
    }

    /// The change from the period before: a difference of counts and
    /// shares, in percent of durations.
    fn change(&self, f: &Figure) -> String {
        let (Some(now), Some(before)) = (f.now, f.before) else {
            return String::new();
        };
        match f.kind {
            Kind::Count | Kind::Score => format!("{:+.0}", now - before),
            Kind::Share => format!("{:+.0} pp", (now - before) * 100.0),
            Kind::Seconds if before > 0.0 => format!("{:+.0}%", (now / before - 1.0) * 100.0),
            Kind::Seconds => String::new(),
        }
    }

    fn figures(&self) -> Vec<Figure> {
        let (n, b, w) = (&self.days.total, self.before, &self.words);
        let count = |x: i64| Some(x as f64);
        vec![
            Figure {
                label: w.created,
                now: count(n.created),
                before: count(b.created),
                kind: Kind::Count,
            },
            Figure {
                label: w.solved,
                now: count(n.solved),
                before: count(b.solved),
                kind: Kind::Count,
            },
            Figure {
                label: w.backlog,
                now: count(n.backlog),
                before: count(b.backlog),
                kind: Kind::Count,
            },
            Figure {
                label: w.frt,
                now: n.frt_median_s,
                before: b.frt_median_s,
                kind: Kind::Seconds,
            },
            Figure {
                label: w.resolution,
                now: n.resolution_median_s,
                before: b.resolution_median_s,
                kind: Kind::Seconds,
            },
            Figure {
                label: w.csat,
                now: n.csat,
                before: b.csat,
                kind: Kind::Share,
            },
            Figure {
                label: w.nps,
                now: n.nps,
                before: b.nps,
                kind: Kind::Score,
            },
            Figure {
                label: w.fcr,
                now: n.fcr,
                before: b.fcr,
                kind: Kind::Share,
            },
            Figure {
                label: w.escalation,
                now: n.escalation_rate,
                before: b.escalation_rate,
                kind: Kind::Share,
            },
            Figure {
                label: w.bot,
                now: n.bot_containment,
                before: b.bot_containment,
                kind: Kind::Share,
            },
            Figure {
                label: w.sla,
                now: n.sla_compliance,
                before: b.sla_compliance,
                kind: Kind::Share,
            },
        ]
    }

    fn text(&self) -> String {
        let mut out = format!(
            "{} — {}\n{} – {}\n\n",
            self.title(),
            self.brand,
            self.from,
            self.last
        );
        for f in self.figures() {
            out.push_str(&format!(
                "{}: {} ({}: {}) {}\n",
                f.label,
                self.show(f.now, f.kind),
                self.words.previous,
                self.show(f.before, f.kind),
                self.change(&f)
            ));
        }
        out.push_str(&format!("\n{}:\n", self.words.teams));
        for r in &self.teams.items {
            out.push_str(&format!(
                "{}: {} / {} · {} · {}\n",
                self.team_name(r),
                r.created,
                r.solved,
                self.show(r.frt_median_s, Kind::Seconds),
                self.show(r.csat, Kind::Share)
            ));
        }
        if let Some(l) = self.link {
            out.push_str(&format!("\n{}: {l}\n", self.words.open));
        }
        out.push_str(&format!("\n{}\n", self.words.why));
        out
    }

    fn team_name(&self, r: &KpiRow) -> String {
        r.label
            .clone()
            .or_else(|| r.key.clone())
            .unwrap_or_else(|| self.words.no_team.to_owned())
    }

    /// A bar chart as a table: one row per day, the bar's width its share
    /// of the largest value.
    fn bars(&self, title: &str, values: &[(String, Option<f64>)], kind: Kind) -> String {
        let max = values
            .iter()
            .filter_map(|(_, v)| *v)
            .fold(0.0_f64, f64::max);
        let mut rows = String::new();
        for (day, v) in values {
            let width = match v {
                // A sliver for the smallest value, none for nothing.
                Some(v) if *v > 0.0 && max > 0.0 => ((v / max) * 100.0).round().max(1.0),
                _ => 0.0,
            };
            let bar = if width > 0.0 {
                format!(
                    "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" width=\"{width:.0}%\"><tr><td style=\"background:#2457d6;height:14px;font-size:0;line-height:0\">&nbsp;</td></tr></table>"
                )
            } else {
                String::new()
            };
            rows.push_str(&format!(
                "<tr><td style=\"padding:2px 8px 2px 0;white-space:nowrap;color:#556\">{}</td><td width=\"70%\" style=\"padding:2px 0\">{bar}</td><td style=\"padding:2px 0 2px 8px;white-space:nowrap;text-align:right\">{}</td></tr>",
                esc(day),
                esc(&self.show(*v, kind))
            ));
        }
        format!(
            "<h2 style=\"font-size:16px;margin:24px 0 8px\">{}</h2><table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" width=\"100%\" style=\"font-size:13px\">{rows}</table>",
            esc(title)
        )
    }

    fn html(&self) -> String {
        let cell = "padding:6px 8px;border-bottom:1px solid #dde;text-align:left";
        let num =
            "padding:6px 8px;border-bottom:1px solid #dde;text-align:right;white-space:nowrap";
        let w = &self.words;
        let mut figures = String::new();
        for f in self.figures() {
            figures.push_str(&format!(
                "<tr><th scope=\"row\" style=\"{cell};font-weight:normal\">{}</th><td style=\"{num};font-weight:bold\">{}</td><td style=\"{num};color:#556\">{}</td><td style=\"{num};color:#556\">{}</td></tr>",
                esc(f.label),
                esc(&self.show(f.now, f.kind)),
                esc(&self.show(f.before, f.kind)),
                esc(&self.change(&f))
            ));
        }
        let day = |r: &KpiRow| r.key.clone().unwrap_or_default();
        let created: Vec<(String, Option<f64>)> = self
            .days
            .items
            .iter()
            .map(|r| (day(r), Some(r.created as f64)))
            .collect();
        let frt: Vec<(String, Option<f64>)> = self
            .days
            .items
            .iter()
            .map(|r| (day(r), r.frt_median_s))
            .collect();
        let mut teams = String::new();
        for r in &self.teams.items {
            teams.push_str(&format!(
                "<tr><th scope=\"row\" style=\"{cell};font-weight:normal\">{}</th><td style=\"{num}\">{}</td><td style=\"{num}\">{}</td><td style=\"{num}\">{}</td><td style=\"{num}\">{}</td><td style=\"{num}\">{}</td></tr>",
                esc(&self.team_name(r)),
                r.created,
                r.solved,
                esc(&self.show(r.frt_median_s, Kind::Seconds)),
                esc(&self.show(r.csat, Kind::Share)),
                esc(&self.show(r.sla_compliance, Kind::Share))
            ));
        }
        let link = self
            .link
            .map(|l| {
                format!(
                    "<p style=\"margin:24px 0\"><a href=\"{}\" style=\"display:inline-block;padding:10px 16px;background:#2457d6;color:#fff;border-radius:6px;text-decoration:none\">{}</a></p>",
                    esc(l),
                    esc(w.open)
                )
            })
            .unwrap_or_default();
        format!(
            "<div style=\"font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans Thai',sans-serif;max-width:640px;margin:0 auto;color:#1a1c24\">\
             <h1 style=\"font-size:20px;margin:0 0 4px\">{title}</h1>\
             <p style=\"margin:0 0 16px;color:#556\">{brand} · {from} – {last}</p>\
             <table cellpadding=\"0\" cellspacing=\"0\" width=\"100%\" style=\"font-size:14px;border-collapse:collapse\">\
             <tr><th style=\"{cell}\"></th><th style=\"{num}\">{from} – {last}</th><th style=\"{num}\">{previous}</th><th style=\"{num}\">{change}</th></tr>{figures}</table>\
             {created}{frt}\
             <h2 style=\"font-size:16px;margin:24px 0 8px\">{teams_title}</h2>\
             <table cellpadding=\"0\" cellspacing=\"0\" width=\"100%\" style=\"font-size:13px;border-collapse:collapse\">\
             <tr><th style=\"{cell}\">{team}</th><th style=\"{num}\">{c}</th><th style=\"{num}\">{s}</th><th style=\"{num}\">{frt_h}</th><th style=\"{num}\">{csat}</th><th style=\"{num}\">{sla}</th></tr>{teams}</table>\
             {link}<p style=\"font-size:12px;color:#778\">{why}</p></div>",
            title = esc(self.title()),
            brand = esc(self.brand),
            from = esc(self.from),
            last = esc(self.last),
            previous = esc(w.previous),
            change = esc(w.change),
            created = self.bars(w.by_day_created, &created, Kind::Count),
            frt = self.bars(w.by_day_frt, &frt, Kind::Seconds),
            teams_title = esc(w.teams),
            team = esc(w.team),
            c = esc(w.created),
            s = esc(w.solved),
            frt_h = esc(w.frt),
            csat = esc(w.csat),
            sla = esc(w.sla),
            why = esc(w.why),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, created: i64, frt: Option<f64>) -> KpiRow {
        KpiRow {
            key: Some(key.into()),
            created,
            frt_median_s: frt,
            ..Default::default()
        }
    }

    #[test]
    fn a_digest_compares_with_the_period_before_and_draws_its_bars() {
        let days = KpiReport {
            from: "2026-11-23".into(),
            to: "2026-11-30".into(),
            group_by: Some("day"),
            items: vec![
                row("2026-11-23", 10, Some(600.0)),
                row("2026-11-24", 5, None),
            ],
            total: KpiRow {
                created: 15,
                csat: Some(0.9),
                frt_median_s: Some(5400.0),
                ..Default::default()
            },
        };
        let before = KpiRow {
            created: 20,
            csat: Some(0.8),
            frt_median_s: Some(3600.0),
            ..Default::default()
        };
        let teams = KpiReport {
            from: String::new(),
            to: String::new(),
            group_by: Some("team"),
            items: vec![KpiRow {
                key: Some("t1".into()),
                label: Some("Доставка <VIP>".into()),
                created: 15,
                ..Default::default()
            }],
            total: KpiRow::default(),
        };
        let d = Digest {
            words: words("ru"),
            period: DigestPeriod::Week,
            brand: "Колонка",
            from: "2026-11-23",
            last: "2026-11-29",
            days: &days,
            before: &before,
            teams: &teams,
            link: Some("https://desk.test/app/reports?from=2026-11-23&to=2026-11-30"),
        };
        assert_eq!(
            d.subject(),
            "Отчёт за неделю: Колонка · 2026-11-23 – 2026-11-29"
        );
        let text = d.text();
        assert!(
            text.contains("Новые заявки: 15 (Прошлый период: 20) -5"),
            "{text}"
        );
        assert!(
            text.contains("CSAT: 90% (Прошлый период: 80%) +10 pp"),
            "{text}"
        );
        assert!(
            text.contains("Первый ответ (медиана): 1.5 ч (Прошлый период: 1.0 ч) +50%"),
            "{text}"
        );
        let html = d.html();
        // The larger day is the full bar, the other half of it; a day with
        // nothing measured has none.
        assert!(html.contains("width=\"100%\"><tr><td style=\"background:#2457d6"));
        assert!(html.contains("width=\"50%\"><tr><td style=\"background:#2457d6"));
        assert!(html.contains("Доставка &lt;VIP&gt;"), "names are escaped");
        assert!(
            html.contains(
                "href=\"https://desk.test/app/reports?from=2026-11-23&amp;to=2026-11-30\""
            )
        );
        assert!(words("th").weekly.contains("สัปดาห์"));
        assert_eq!(words("de").weekly, "Weekly report");
    }
}
