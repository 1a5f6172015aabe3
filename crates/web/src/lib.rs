//! HTTP: the JSON API under `/api/v1` with its OpenAPI document, the agent
//! workspace and admin UI (`ui`), health and metrics.
//!
//! Invariants: only this crate speaks HTTP and JSON; handlers call engine services
//! and never hold business rules or SQL; every error leaves as problem+json with the
//! request id.

#![forbid(unsafe_code)]

pub mod api;
pub mod assist_api;
pub mod chat_api;
mod contract;
pub mod dto;
pub mod error;
pub mod extract;
pub mod flows_api;
pub mod help;
pub mod journey_api;
pub mod kb_api;
pub mod links_api;
pub mod macros_api;
pub mod mail_api;
pub mod messenger_api;
pub mod metrics;
mod openapi;
pub mod orders_api;
pub mod org_api;
pub mod outreach_api;
pub mod privacy_api;
pub mod quality_api;
pub mod report_api;
pub mod rules_api;
pub mod side_api;
pub mod sla_api;
pub mod survey_api;
pub mod throttle;
pub mod triage_api;
pub mod ui;
pub mod widget;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use engine::Engine;
use std::sync::Arc;
use std::time::Instant;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Web settings.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: usize,
    /// Mark session cookies `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `/metrics` wants `Authorization: Bearer` with this token, when set.
    pub metrics_token: Option<domain::secret::Secret>,
    /// `/metrics` answers only clients in these ranges, when any are set.
    pub metrics_allow: Vec<ipnet::IpNet>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            max_body_bytes: 2 * 1024 * 1024,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            metrics_allow: Vec::new(),
        }
    }
}

/// The client's address: the connecting peer, unless that is a trusted proxy;
/// then the nearest address in `X-Forwarded-For` (read from the right) that is
/// not one. Entries a client wrote itself sit left of what the proxies appended,
/// so they are never reached while a trusted hop precedes them.
pub fn client_addr(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<std::net::IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            // Garbage in the header: trust nothing further left.
            Err(_) => return client,
        }
    }
    client
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub config: Arc<WebConfig>,
    /// Who is on which ticket, for live pages.
    pub live: Arc<ui::live::Hub>,
    /// The public help-center search's budget per client address.
    pub help_search: Arc<throttle::Throttle>,
    /// Chat widgets, visitors' budgets and live routing to their sockets.
    pub chat: Arc<widget::ChatState>,
}

/// The whole HTTP application.
pub fn router(engine: Engine, config: WebConfig) -> Router {
    let attachment_limit = engine.limits.max_attachment_bytes + 64 * 1024;
    let email_limit = engine.limits.max_email_bytes;
    let body_limit = config.max_body_bytes;
    // Installed before anything records, so nothing recorded is lost.
    crate::metrics::handle();
    let state = AppState {
        live: Arc::new(ui::live::Hub::shared(engine.clone())),
        engine,
        config: Arc::new(config),
        help_search: Arc::new(throttle::Throttle::new(
            kb_api::PUBLIC_SEARCHES_PER_MINUTE,
            std::time::Duration::from_secs(60),
        )),
        chat: Arc::new(widget::ChatState::default()),
    };
    // Routing to visitors' sockets runs beside the server; without a runtime
    // (a router built only to read its routes) there is nothing to route.
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn(widget::hub::run(state.clone()));
        }
        Err(_) => tracing::debug!("no runtime: chat routing not started"),
    }
    let x_request_id = HeaderName::from_static("x-request-id");
    let v1 = Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route("/auth/login", post(api::login))
        .route("/auth/logout", post(api::logout))
        .route("/auth/password", post(api::change_password))
        .route("/me", get(api::me))
        .route(
            "/me/preferences",
            get(api::my_preferences).patch(api::patch_my_preferences),
        )
        .route(
            "/workspace",
            get(api::get_workspace).patch(api::patch_workspace),
        )
        .route("/users", get(api::list_users).post(api::create_user))
        .route("/users/{id}", get(api::get_user).patch(api::patch_user))
        .route("/teams", get(api::list_teams).post(api::create_team))
        .route("/teams/{id}", get(api::get_team).patch(api::patch_team))
        .route("/tokens", get(api::list_tokens).post(api::create_token))
        .route("/tokens/{id}", delete(api::revoke_token))
        .route(
            "/custom-fields",
            get(api::list_fields).post(api::create_field),
        )
        .route("/custom-fields/{id}", patch(api::patch_field))
        .route(
            "/customers",
            get(api::list_customers).post(api::create_customer),
        )
        .route(
            "/customers/{id}",
            get(api::get_customer).patch(api::patch_customer),
        )
        .route("/customers/{id}/merge", post(api::merge_customer))
        .route("/customers/{id}/export", get(privacy_api::export))
        .route("/customers/{id}/erase", post(privacy_api::erase))
        .route("/customers/{id}/timeline", get(api::customer_timeline))
        .route(
            "/customers/{id}/suggestions",
            get(api::customer_suggestions),
        )
        .route(
            "/customers/{id}/suggestions/{suggestion_id}/dismiss",
            post(api::dismiss_suggestion),
        )
        .route(
            "/customers/{id}/identities/{identity_id}",
            axum::routing::patch(api::patch_identity),
        )
        .route("/customers/{id}/orders", get(orders_api::customer_orders))
        .route(
            "/customers/{id}/touchpoints",
            get(journey_api::customer_touchpoints),
        )
        .route("/touchpoints", post(journey_api::push))
        .route("/links", get(links_api::list).post(links_api::create))
        .route(
            "/links/{id}",
            get(links_api::get).delete(links_api::disable),
        )
        .route("/links/{id}/qr.svg", get(links_api::qr))
        .route("/reports/journey", get(journey_api::map))
        .route("/reports/journey.csv", get(journey_api::map_csv_file))
        .route(
            "/journey/settings",
            get(journey_api::get_settings).put(journey_api::put_settings),
        )
        .route(
            "/organizations",
            get(org_api::list_organizations).post(org_api::create_organization),
        )
        .route(
            "/organizations/{id}",
            get(org_api::get_organization)
                .patch(org_api::patch_organization)
                .delete(org_api::delete_organization),
        )
        .route(
            "/organizations/{id}/customers",
            get(org_api::organization_customers),
        )
        .route(
            "/orders",
            get(orders_api::list_orders).post(orders_api::upsert_order),
        )
        .route("/orders/{id}", get(orders_api::get_order))
        .route(
            "/outreach/rules",
            get(outreach_api::list_rules).post(outreach_api::create_rule),
        )
        .route(
            "/outreach/rules/{id}",
            get(outreach_api::get_rule).put(outreach_api::put_rule),
        )
        .route("/assist/answer", post(assist_api::answer))
        .route(
            "/assist/providers",
            get(assist_api::get_providers).put(assist_api::put_providers),
        )
        .route("/assist/providers/check", post(assist_api::check_providers))
        .route(
            "/assist/flows",
            get(flows_api::list).post(flows_api::create),
        )
        .route(
            "/assist/flows/{id}",
            get(flows_api::get)
                .put(flows_api::put)
                .delete(flows_api::delete),
        )
        .route(
            "/triage/categories",
            get(triage_api::list_categories).post(triage_api::create_category),
        )
        .route(
            "/triage/categories/{id}",
            axum::routing::put(triage_api::put_category).delete(triage_api::delete_category),
        )
        .route("/tickets/{id}/triage", get(triage_api::ticket_triage))
        .route("/tickets/{id}/suggestions", get(assist_api::suggestions))
        .route(
            "/tickets/{id}/messages/{message_id}/resend",
            post(api::resend_message),
        )
        .route(
            "/tickets/{id}/messages/{message_id}/triage",
            axum::routing::put(triage_api::correct),
        )
        .route(
            "/assist/settings",
            get(assist_api::get_settings).put(assist_api::put_settings),
        )
        .route(
            "/outreach/settings",
            get(outreach_api::get_settings).put(outreach_api::put_settings),
        )
        .route(
            "/customers/{id}/outreach",
            get(outreach_api::customer_outreach),
        )
        .route(
            "/tickets/{id}/order",
            get(orders_api::ticket_order).put(orders_api::link_ticket_order),
        )
        .route("/tickets/{id}/upsell", get(orders_api::ticket_upsell))
        .route(
            "/stores",
            get(orders_api::list_stores).post(orders_api::create_store),
        )
        .route(
            "/stores/{id}",
            get(orders_api::get_store).patch(orders_api::patch_store),
        )
        .route("/tickets", get(api::list_tickets).post(api::create_ticket))
        .route(
            "/tickets/{id}",
            get(api::get_ticket).patch(api::patch_ticket),
        )
        .route(
            "/tickets/{id}/messages",
            get(api::list_messages).post(api::create_message),
        )
        .route("/tickets/{id}/events", get(api::ticket_events))
        .route("/tickets/{id}/escalate", post(api::escalate_ticket))
        .route("/tickets/{id}/merge", post(api::merge_ticket))
        .route("/tickets/{id}/split", post(api::split_ticket))
        .route("/tickets/{id}/reminders", post(api::add_reminder))
        .route("/reminders", get(api::list_reminders))
        .route("/reminders/{id}", delete(api::cancel_reminder))
        .route(
            "/tickets/{id}/collaborators",
            get(api::list_collaborators).post(api::add_collaborator),
        )
        .route(
            "/tickets/{id}/collaborators/{user_id}",
            delete(api::remove_collaborator),
        )
        .route(
            "/tickets/{id}/followers",
            get(api::list_followers).post(api::add_follower),
        )
        .route(
            "/tickets/{id}/followers/{user_id}",
            delete(api::remove_follower),
        )
        .route(
            "/tickets/{id}/side-conversations",
            get(side_api::list_sides).post(side_api::start_side),
        )
        .route(
            "/tickets/{id}/side-conversations/{side_id}",
            patch(side_api::patch_side),
        )
        .route(
            "/tickets/{id}/side-conversations/{side_id}/messages",
            post(side_api::side_message),
        )
        .route(
            "/tickets/{id}/messages/{message_id}/solution",
            axum::routing::put(api::set_solution),
        )
        .route("/tickets/{id}/solutions", get(api::similar_solutions))
        .route("/events", get(api::events))
        .route("/kb/articles/{id}/versions", get(kb_api::article_versions))
        .route(
            "/kb/articles/{id}/versions/{version}/restore",
            post(kb_api::restore_version),
        )
        .route("/kb/faq", get(kb_api::list_faq).post(kb_api::create_faq))
        .route(
            "/kb/faq/{id}",
            get(kb_api::get_faq).patch(kb_api::patch_faq),
        )
        .route(
            "/kb/settings",
            get(kb_api::get_settings).put(kb_api::put_settings),
        )
        .route("/kb/search", get(kb_api::search))
        .route("/surveys", get(survey_api::list))
        .route("/reports/kpis", get(report_api::kpis))
        .route("/reports/kpis.csv", get(report_api::kpis_csv))
        .route(
            "/reports/digests",
            get(report_api::get_digests).put(report_api::put_digests),
        )
        .route(
            "/quality/scorecards",
            get(quality_api::list_scorecards).post(quality_api::create_scorecard),
        )
        .route("/quality/scorecards/{id}", put(quality_api::put_scorecard))
        .route("/quality/reviews", get(quality_api::reviews))
        .route("/quality/agents", get(quality_api::agents))
        .route(
            "/quality/samples",
            get(quality_api::queue).post(quality_api::draw),
        )
        .route(
            "/tickets/{id}/reviews",
            get(quality_api::ticket_reviews).post(quality_api::review),
        )
        .route(
            "/surveys/settings",
            get(survey_api::get_settings).put(survey_api::put_settings),
        )
        .route("/help/{workspace}/search", get(kb_api::public_search))
        .route("/kb/analytics", get(kb_api::analytics))
        .route("/attachments/{id}", get(api::download))
        .route(
            "/channels/email",
            get(mail_api::list).post(mail_api::create),
        )
        .route(
            "/channels/email/{id}",
            get(mail_api::get).patch(mail_api::patch),
        )
        .route("/macros", get(macros_api::list).post(macros_api::create))
        .route(
            "/macros/{id}",
            get(macros_api::get)
                .patch(macros_api::patch)
                .delete(macros_api::delete),
        )
        .route("/tickets/{id}/apply-macro", post(macros_api::apply))
        .route("/rules", get(rules_api::list).post(rules_api::create))
        .route("/rules/dry-run", post(rules_api::dry_run))
        .route("/rules/webhook-key", get(rules_api::webhook_key))
        .route(
            "/rules/{id}",
            get(rules_api::get)
                .patch(rules_api::patch)
                .delete(rules_api::delete),
        )
        .route("/business-hours", get(sla_api::list).post(sla_api::create))
        .route(
            "/sla-policies",
            get(sla_api::list_policies).post(sla_api::create_policy),
        )
        .route(
            "/sla-policies/{id}",
            get(sla_api::get_policy)
                .patch(sla_api::patch_policy)
                .delete(sla_api::delete_policy),
        )
        .route(
            "/business-hours/{id}",
            get(sla_api::get).patch(sla_api::patch),
        )
        .route("/channels/chat", get(chat_api::list).post(chat_api::create))
        .route(
            "/channels/telegram",
            get(messenger_api::list_telegram).post(messenger_api::create_telegram),
        )
        .route(
            "/channels/telegram/{id}",
            get(messenger_api::get_telegram).patch(messenger_api::patch_telegram),
        )
        .route(
            "/channels/whatsapp",
            get(messenger_api::list_whatsapp).post(messenger_api::create_whatsapp),
        )
        .route(
            "/channels/whatsapp/{id}",
            get(messenger_api::get_whatsapp).patch(messenger_api::patch_whatsapp),
        )
        .route(
            "/channels/vk",
            get(messenger_api::list_vk).post(messenger_api::create_vk),
        )
        .route(
            "/channels/vk/{id}",
            get(messenger_api::get_vk).patch(messenger_api::patch_vk),
        )
        .route(
            "/webhooks",
            get(messenger_api::list_webhooks).post(messenger_api::create_webhook),
        )
        .route(
            "/webhooks/{id}",
            get(messenger_api::get_webhook)
                .patch(messenger_api::patch_webhook)
                .delete(messenger_api::delete_webhook),
        )
        .route(
            "/webhooks/{id}/deliveries",
            get(messenger_api::webhook_deliveries),
        )
        .route(
            "/channels/api",
            get(messenger_api::list_api).post(messenger_api::create_api),
        )
        .route("/channels/api/messages", post(messenger_api::api_message))
        .route(
            "/channels/api/{id}",
            get(messenger_api::get_api).patch(messenger_api::patch_api),
        )
        .route(
            "/channels/phone",
            get(messenger_api::list_phone).post(messenger_api::create_phone),
        )
        .route(
            "/channels/phone/{id}",
            get(messenger_api::get_phone).patch(messenger_api::patch_phone),
        )
        .route(
            "/tickets/{id}/templates",
            get(messenger_api::ticket_templates).post(messenger_api::send_template),
        )
        .route(
            "/channels/chat/{id}",
            get(chat_api::get).patch(chat_api::patch),
        )
        .route("/channels/email/{id}/held", get(mail_api::held_list))
        .route(
            "/channels/email/{id}/held/{held_id}",
            delete(mail_api::held_discard),
        )
        .route(
            "/channels/email/{id}/held/{held_id}/ticket",
            post(mail_api::held_ticket),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .merge(
            Router::new()
                .route("/attachments", post(api::upload))
                .layer(DefaultBodyLimit::max(attachment_limit)),
        )
        // Article bodies are long: room for the longest one, JSON-escaped.
        .merge(
            Router::new()
                .route(
                    "/kb/articles",
                    get(kb_api::list_articles).post(kb_api::create_article),
                )
                .route(
                    "/kb/articles/{id}",
                    get(kb_api::get_article).patch(kb_api::patch_article),
                )
                .layer(DefaultBodyLimit::max(kb_api::BODY_LIMIT)),
        )
        .merge(
            Router::new()
                .route("/channels/email/{id}/inbound", post(mail_api::inbound))
                .layer(DefaultBodyLimit::max(email_limit)),
        );
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", v1)
        .merge(
            Router::new()
                .route("/hooks/telegram/{id}", post(messenger_api::telegram_hook))
                .route("/hooks/vk/{id}", post(messenger_api::vk_hook))
                .route("/hooks/phone/{id}", post(messenger_api::phone_hook))
                .route("/hooks/store/{id}", post(orders_api::store_hook))
                .route(
                    "/hooks/whatsapp/{id}",
                    get(messenger_api::whatsapp_verify).post(messenger_api::whatsapp_hook),
                )
                .layer(DefaultBodyLimit::max(channels::telegram::MAX_UPDATE)),
        )
        .merge(widget::routes(attachment_limit))
        .route("/l/{code}", get(links_api::follow))
        .merge(
            Router::new()
                .route(
                    "/s/{token}",
                    get(survey_api::show).post(survey_api::answer),
                )
                .route(
                    "/s/{token}/stop",
                    get(survey_api::stop_page).post(survey_api::stop),
                )
                .layer(DefaultBodyLimit::max(16 * 1024)),
        )
        .merge(ui::routes(state.clone()))
        .fallback(|| async { crate::error::ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such path") })
        .layer(middleware::from_fn(observe))
        .layer(middleware::from_fn(error::finish_problems))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let in_flight = ::metrics::gauge!("otklik_http_in_flight");
    in_flight.increment(1.0);
    let mut res = next.run(req).await;
    in_flight.decrement(1.0);
    ::metrics::counter!("otklik_http_requests_total", "class" => crate::metrics::class(res.status().as_u16()))
        .increment(1);
    ::metrics::histogram!("otklik_http_request_duration_seconds")
        .record(start.elapsed().as_secs_f64());
    let h = res.headers_mut();
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

async fn readyz(State(app): State<AppState>) -> Response {
    match app.engine.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics(
    State(app): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let c = &app.config;
    let client = client_addr(peer.ip(), &headers, &c.trusted_proxies);
    if !c.metrics_allow.is_empty() && !c.metrics_allow.iter().any(|n| n.contains(&client)) {
        return crate::error::ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "metrics are not served to this address",
        )
        .into_response();
    }
    if let Some(token) = &c.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Compared by digest, so the comparison's time says nothing of the token.
        let same = given.is_some_and(|g| {
            engine::auth::secret_hash(g) == engine::auth::secret_hash(token.expose())
        });
        if !same {
            return crate::error::ApiError::unauthorized("metrics need the metrics token")
                .into_response();
        }
    }
    // Consumer lag is read from the database when asked for, not kept current.
    if let Err(e) = app.engine.consumer_status().await {
        tracing::warn!(error = %e, "reading consumer positions for /metrics failed");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(),
    )
        .into_response()
}

#[cfg(test)]
mod client_addr_tests {
    use super::client_addr;
    use axum::http::HeaderMap;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: std::net::IpAddr = "10.0.0.5".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        // A client talking directly cannot name itself someone else.
        let direct: std::net::IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(client_addr(direct, &xff("1.2.3.4"), &trusted), direct);
        assert_eq!(client_addr(proxy, &xff("1.2.3.4"), &[]), proxy);
        // Behind the proxy: the nearest untrusted hop, not what the client wrote.
        let h = xff("6.6.6.6, 203.0.113.7, 10.0.0.2");
        assert_eq!(
            client_addr(proxy, &h, &trusted),
            "203.0.113.7".parse::<std::net::IpAddr>().unwrap()
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            client_addr(proxy, &xff("203.0.113.7, nonsense"), &trusted),
            proxy
        );
        assert_eq!(client_addr(proxy, &HeaderMap::new(), &trusted), proxy);
    }
}
