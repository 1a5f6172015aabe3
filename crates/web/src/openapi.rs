//! The OpenAPI document, generated from the handlers' annotations and the wire types.

use crate::dto::*;
use crate::error::Problem;
use crate::{
    api, assist_api, chat_api, flows_api, journey_api, kb_api, links_api, macros_api, mail_api,
    messenger_api, orders_api, org_api, outreach_api, privacy_api, quality_api, report_api,
    rules_api, side_api, sla_api, survey_api, triage_api, widget,
};
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `otklik token create` or POST /api/v1/tokens",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "visitor",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A chat visitor's token (`vt_…`) from POST /widget/v1/{key}/visitors",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "telegram",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Telegram-Bot-Api-Secret-Token",
                "The secret the channel gave Telegram with setWebhook",
            ))),
        );
        c.add_security_scheme(
            "whatsapp",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Hub-Signature-256",
                "sha256= and the hex HMAC-SHA256 of the raw body under the Meta app's secret",
            ))),
        );
        c.add_security_scheme(
            "phone",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Otklik-Signature",
                "v1= and the hex HMAC-SHA256 of `timestamp.body` under the channel's signing secret (X-Otklik-Timestamp is the timestamp)",
            ))),
        );
        c.add_security_scheme(
            "store",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Otklik-Signature",
                "v1= and the hex HMAC-SHA256 of `timestamp.body` under the store integration's signing secret (X-Otklik-Timestamp is the timestamp)",
            ))),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "otklik_session",
                "Browser session; send X-CSRF-Token on changes",
            ))),
        );
    }
}

/// Errors are RFC 9457 problems: every 4xx and 5xx body is documented as
/// `application/problem+json`, the type the server sends.
struct Problems;

impl Modify for Problems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                add_common_errors(op);
                for (code, r) in op.responses.responses.iter_mut() {
                    let utoipa::openapi::RefOr::T(r) = r else {
                        continue;
                    };
                    if !(code.starts_with('4') || code.starts_with('5')) {
                        continue;
                    }
                    if let Some(c) = r.content.shift_remove("application/json") {
                        r.content.insert("application/problem+json".into(), c);
                    }
                }
            }
        }
    }
}

/// The errors any operation can answer, from the layers every request passes:
/// a malformed query or body (400), no or a bad credential (401), a role that
/// may not (403), invalid input (422); with a path parameter or a body, an
/// unknown object (404); with a body, a conflict with the current state (409),
/// one too large (413) or of another type (415), and a full CPU gate (503). Added where a handler's own list does not name them.
fn add_common_errors(op: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let has_path_param = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path);
    let has_body = op.request_body.is_some();
    let mut codes = vec![
        ("400", "Malformed request"),
        ("401", "Not signed in, or an unknown or revoked token"),
        ("403", "The caller's role does not allow this"),
        ("422", "Invalid input"),
    ];
    if has_path_param || has_body {
        codes.push((
            "404",
            "An object the path or body names is not in the caller's workspace",
        ));
    }
    if has_body {
        codes.push((
            "409",
            "The object's current state refuses the change, or it would clash with another",
        ));
        codes.push(("413", "The body is larger than the limit"));
        codes.push(("415", "The body is not of the documented media type"));
        codes.push(("503", "The server is busy; see Retry-After"));
    }
    for (code, description) in codes {
        if op.responses.responses.contains_key(code) {
            continue;
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        op.responses
            .responses
            .insert(code.to_owned(), utoipa::openapi::RefOr::T(response));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Otklik API", description = "Omnichannel customer support: tickets, customers, events."),
    modifiers(&Security, &Problems),
    security(("bearer" = []), ("session" = [])),
    paths(
        api::login, api::logout, api::change_password, api::me, api::my_preferences, api::patch_my_preferences, api::get_workspace, api::patch_workspace,
        api::list_users, api::create_user, api::get_user, api::patch_user,
        api::list_teams, api::create_team, api::get_team, api::patch_team,
        api::list_tokens, api::create_token, api::revoke_token, api::list_fields, api::create_field, api::patch_field,
        api::list_customers, api::create_customer, api::get_customer, api::patch_customer, api::merge_customer, api::customer_timeline, api::customer_suggestions, api::dismiss_suggestion, api::patch_identity,
        org_api::list_organizations, org_api::create_organization, org_api::get_organization, org_api::patch_organization, org_api::delete_organization, org_api::organization_customers,
        orders_api::upsert_order, orders_api::list_orders, orders_api::get_order, orders_api::customer_orders, orders_api::ticket_order, orders_api::link_ticket_order, orders_api::ticket_upsell,
        outreach_api::list_rules, outreach_api::create_rule, outreach_api::get_rule, outreach_api::put_rule,
        outreach_api::get_settings, outreach_api::put_settings, outreach_api::customer_outreach,
        assist_api::answer, assist_api::get_settings, assist_api::put_settings, assist_api::get_providers, assist_api::put_providers, assist_api::check_providers, assist_api::suggestions, flows_api::list, flows_api::create, flows_api::get, flows_api::put, flows_api::delete,
        triage_api::list_categories, triage_api::create_category, triage_api::put_category, triage_api::delete_category,
        triage_api::ticket_triage, triage_api::correct,
        orders_api::list_stores, orders_api::create_store, orders_api::get_store, orders_api::patch_store, orders_api::store_hook,
        api::list_tickets, api::create_ticket, api::get_ticket, api::patch_ticket, api::merge_ticket, api::split_ticket, api::add_reminder, api::list_reminders, api::cancel_reminder, api::list_messages, api::create_message, api::resend_message,
        api::ticket_events, api::escalate_ticket, api::list_collaborators, api::add_collaborator, api::remove_collaborator, api::list_followers, api::add_follower, api::remove_follower, side_api::list_sides, side_api::start_side, side_api::side_message, side_api::patch_side, survey_api::list, survey_api::get_settings, survey_api::put_settings, journey_api::push, journey_api::customer_touchpoints, journey_api::get_settings, journey_api::put_settings, journey_api::map, journey_api::map_csv_file, privacy_api::export, privacy_api::erase, links_api::create, links_api::list, links_api::get, links_api::disable, links_api::qr, report_api::kpis, report_api::kpis_csv, report_api::get_digests, report_api::put_digests, quality_api::list_scorecards, quality_api::create_scorecard, quality_api::put_scorecard, quality_api::review, quality_api::ticket_reviews, quality_api::reviews, quality_api::agents, quality_api::draw, quality_api::queue, api::set_solution, api::similar_solutions, api::events, api::upload, api::download,
        mail_api::list, mail_api::create, mail_api::get, mail_api::patch, mail_api::inbound,
        mail_api::held_list, mail_api::held_ticket, mail_api::held_discard,
        kb_api::create_article, kb_api::list_articles, kb_api::get_article, kb_api::patch_article,
        kb_api::article_versions, kb_api::restore_version, kb_api::create_faq, kb_api::list_faq, kb_api::get_faq, kb_api::patch_faq, kb_api::search, kb_api::analytics, kb_api::public_search, kb_api::get_settings, kb_api::put_settings,
        chat_api::list, chat_api::create, chat_api::get, chat_api::patch,
        messenger_api::list_telegram, messenger_api::create_telegram, messenger_api::get_telegram, messenger_api::patch_telegram, messenger_api::telegram_hook,
        messenger_api::list_whatsapp, messenger_api::create_whatsapp, messenger_api::get_whatsapp, messenger_api::patch_whatsapp, messenger_api::whatsapp_verify, messenger_api::whatsapp_hook,
        messenger_api::ticket_templates, messenger_api::send_template,
        messenger_api::list_webhooks, messenger_api::create_webhook, messenger_api::get_webhook, messenger_api::patch_webhook, messenger_api::delete_webhook, messenger_api::webhook_deliveries,
        messenger_api::list_api, messenger_api::create_api, messenger_api::get_api, messenger_api::patch_api, messenger_api::api_message,
        messenger_api::list_phone, messenger_api::create_phone, messenger_api::get_phone, messenger_api::patch_phone, messenger_api::phone_hook,
        messenger_api::list_vk, messenger_api::create_vk, messenger_api::get_vk, messenger_api::patch_vk, messenger_api::vk_hook,
        sla_api::list, sla_api::create, sla_api::get, sla_api::patch,
        sla_api::list_policies, sla_api::create_policy, sla_api::get_policy, sla_api::patch_policy, sla_api::delete_policy,
        macros_api::list, macros_api::create, macros_api::get, macros_api::patch, macros_api::delete, macros_api::apply,
        rules_api::list, rules_api::create, rules_api::get, rules_api::patch, rules_api::delete, rules_api::dry_run, rules_api::webhook_key,
        widget::config, widget::create_visitor, widget::get_visitor, widget::patch_visitor, widget::send_message, widget::list_messages, widget::read, widget::upload, widget::download,
    ),
    components(schemas(Problem, IdentityIo, AuthorIn)),
)]
pub struct ApiDoc;

/// The document as the annotations generate it, before [`crate::contract`]
/// states the input rules.
pub fn doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn serve() -> impl IntoResponse {
    axum::Json(crate::contract::document())
}
