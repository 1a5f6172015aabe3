//! Replies leave by SMTP (lettre): a MIME message with our Message-ID and the
//! In-Reply-To/References that thread it in the customer's mail client.

use engine::email::mailbox::Tls;
use engine::email::{MailTransport, OutgoingEmail, SendError};
use futures::future::BoxFuture;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls as LettreTls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Sends through each mailbox's own SMTP server.
#[derive(Clone, Debug, Default)]
pub struct SmtpSender {
    /// Accept self-signed certificates (private relays); off by default.
    pub accept_invalid_certs: bool,
}

fn permanent(reason: impl Into<String>) -> SendError {
    SendError {
        permanent: true,
        reason: reason.into(),
    }
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, SendError> {
    let addr = address
        .parse()
        .map_err(|e| permanent(format!("{address:?} is not a deliverable address: {e}")))?;
    Ok(Mailbox::new(name.map(str::to_owned), addr))
}

fn raw_header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// Builds the MIME message (also used by tests and the benchmark).
pub fn compose(m: &OutgoingEmail) -> Result<Message, SendError> {
    let mut b = Message::builder()
        .from(mailbox(m.from.name.as_deref(), &m.from.address)?)
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}>", m.message_id)));
    for to in &m.to {
        b = b.to(mailbox(to.name.as_deref(), &to.address)?);
    }
    for cc in &m.cc {
        b = b.cc(mailbox(cc.name.as_deref(), &cc.address)?);
    }
    if let Some(r) = &m.reply_to {
        b = b.reply_to(mailbox(None, r)?);
    }
    if let Some(irt) = &m.in_reply_to {
        b = b.in_reply_to(format!("<{irt}>"));
    }
    if !m.references.is_empty() {
        let refs: Vec<String> = m.references.iter().map(|r| format!("<{r}>")).collect();
        b = b.references(refs.join(" "));
    }
    if m.auto_submitted {
        b = b
            .raw_header(raw_header("Auto-Submitted", "auto-replied".into()))
            .raw_header(raw_header("X-Auto-Response-Suppress", "All".into()));
    }
    if let Some(lang) = &m.language {
        b = b.raw_header(raw_header("Content-Language", lang.clone()));
    }
    let content_type = |a: &engine::email::OutgoingAttachment| {
        ContentType::parse(&a.content_type).unwrap_or_else(|_| {
            ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
        })
    };
    let text = SinglePart::plain(m.text.clone());
    // Images the HTML shows go beside it in multipart/related; the rest are
    // attachments proper. Without HTML, nothing is inline.
    let (inline, attached): (Vec<_>, Vec<_>) = m
        .attachments
        .iter()
        .partition(|a| a.content_id.is_some() && m.html.is_some());
    let body = match &m.html {
        Some(h) if !inline.is_empty() => {
            let mut related = MultiPart::related().singlepart(SinglePart::html(h.clone()));
            for a in &inline {
                let cid = a.content_id.clone().unwrap_or_default();
                related = related
                    .singlepart(Attachment::new_inline(cid).body(a.bytes.clone(), content_type(a)));
            }
            MultiPart::alternative().singlepart(text).multipart(related)
        }
        Some(h) => MultiPart::alternative()
            .singlepart(text)
            .singlepart(SinglePart::html(h.clone())),
        None => MultiPart::mixed().singlepart(text),
    };
    let built = if attached.is_empty() {
        match &m.html {
            Some(_) => b.multipart(body),
            None => b.singlepart(SinglePart::plain(m.text.clone())),
        }
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in attached {
            mixed = mixed.singlepart(
                Attachment::new(a.filename.clone()).body(a.bytes.clone(), content_type(a)),
            );
        }
        b.multipart(mixed)
    };
    built.map_err(|e| permanent(format!("the message could not be built: {e}")))
}

impl SmtpSender {
    fn transport(
        &self,
        m: &OutgoingEmail,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let Some(o) = &m.mailbox.outbound else {
            return Err(permanent("the mailbox has no outbound SMTP settings"));
        };
        let tls = || {
            TlsParameters::builder(o.host.clone())
                .dangerous_accept_invalid_certs(self.accept_invalid_certs)
                .build_rustls()
                .map_err(|e| permanent(format!("TLS setup for {}: {e}", o.host)))
        };
        let tls = match o.tls {
            Tls::Implicit => LettreTls::Wrapper(tls()?),
            Tls::Starttls => LettreTls::Required(tls()?),
            Tls::None => LettreTls::None,
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(o.host.clone())
            .port(o.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)))
            .hello_name(ClientId::Domain(m.mailbox.domain().to_owned()));
        if let Some(user) = &o.username {
            b = b.credentials(Credentials::new(
                user.clone(),
                m.mailbox
                    .outbound_password
                    .as_ref()
                    .map(|p| p.expose().to_owned())
                    .unwrap_or_default(),
            ));
        }
        Ok(b.build())
    }
}

impl MailTransport for SmtpSender {
    fn send<'a>(&'a self, m: &'a OutgoingEmail) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let message = compose(m)?;
            let transport = self.transport(m)?;
            match transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e) => Err(SendError {
                    permanent: e.is_permanent(),
                    reason: format!("SMTP: {e}"),
                }),
            }
        })
    }
}
