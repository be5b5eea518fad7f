//! The error responses that operations share, written once for the OpenAPI document.
//!
//! A handler's `#[utoipa::path]` lists, beside its own statuses, every group that applies:
//!
//! - [`JsonBodyErrors`] (400, 413, 415): it reads a JSON body, and lists its own 422,
//!   which a field missing or of the wrong type answers too;
//! - [`QueryErrors`] (400): it reads a query string;
//! - [`CrossSiteErrors`] (403): it is a POST, PATCH, PUT or DELETE, which
//!   [`refuse_cross_site`](crate::auth::cross_site::refuse_cross_site) guards, as does
//!   an API token's scope ([`Scope`](crate::auth::api_tokens::Scope));
//! - [`AuthErrors`] (401): it needs a signed-in caller;
//! - [`RateLimitErrors`] (429): it counts against a rate limit;
//! - [`ServerErrors`] (500, 503): always, as every handler uses the database.
//!
//! Each group points at responses in the document's `components`, which [`SharedResponses`]
//! adds. A test reads the served document and fails when a handler leaves a group out.

use std::collections::BTreeMap;

/// Where the app serves the document (and the reference at `/docs` reads it).
pub const DOCUMENT_PATH: &str = "/openapi.json";

use utoipa::{
    IntoResponses, Modify, PartialSchema, ToSchema,
    openapi::{
        ContentBuilder, HeaderBuilder, Object, OpenApi, Ref, RefOr, Response, ResponseBuilder, Type,
    },
};

use crate::error::ErrorBody;

/// Each shared response: its name under `components/responses`, its meaning, and whether
/// it carries `Retry-After`.
const RESPONSES: [(&str, &str, bool); 8] = [
    (
        "BadRequest",
        "Malformed request: the body is not JSON, or not a JSON object, or the query \
         string does not parse (`bad_request`)",
        false,
    ),
    (
        "Unauthenticated",
        "No session or API token, or one that has expired or been revoked (`unauthenticated`)",
        false,
    ),
    (
        "CrossSite",
        "A browser request from another origin, or an API token that may not make it \
         (read-only, or limited to one organization's routes) (`forbidden`)",
        false,
    ),
    (
        "PayloadTooLarge",
        "The body is larger than the configured limit (`payload_too_large`)",
        false,
    ),
    (
        "UnsupportedMediaType",
        "The body is not sent as `Content-Type: application/json` (`unsupported_media_type`)",
        false,
    ),
    (
        "RateLimited",
        "Too many attempts; `Retry-After` says when to try again (`rate_limited`)",
        true,
    ),
    (
        "Internal",
        "An unexpected failure; the body never says more (`internal`)",
        false,
    ),
    (
        "Unavailable",
        "The database did not answer in time or is busy, or password hashing is overloaded; \
         `Retry-After` says when to try again (`unavailable`, `busy`)",
        true,
    ),
];

/// 400, 413 and 415: what reading a JSON body can refuse.
pub struct JsonBodyErrors;

/// 400: a query string that does not parse.
pub struct QueryErrors;

/// 403: a POST, PATCH, PUT or DELETE from a browser on another origin, or with an API
/// token whose scope does not allow it.
pub struct CrossSiteErrors;

/// 401: a route that needs a signed-in caller.
pub struct AuthErrors;

/// 429: a rate-limited route.
pub struct RateLimitErrors;

/// 500 and 503: every route.
pub struct ServerErrors;

impl IntoResponses for JsonBodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refer(&[
            ("400", "BadRequest"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
        ])
    }
}

impl IntoResponses for QueryErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refer(&[("400", "BadRequest")])
    }
}

impl IntoResponses for CrossSiteErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refer(&[("403", "CrossSite")])
    }
}

impl IntoResponses for AuthErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refer(&[("401", "Unauthenticated")])
    }
}

impl IntoResponses for RateLimitErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refer(&[("429", "RateLimited")])
    }
}

impl IntoResponses for ServerErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refer(&[("500", "Internal"), ("503", "Unavailable")])
    }
}

/// References to shared responses, by status.
pub fn refer(statuses: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|(status, name)| {
            let reference = Ref::from_response_name(*name);
            ((*status).to_owned(), RefOr::Ref(reference))
        })
        .collect()
}

/// Adds the shared responses, and the error body they carry, to the document's components.
pub struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut schemas = vec![(ErrorBody::name().into_owned(), ErrorBody::schema())];
        ErrorBody::schemas(&mut schemas);
        components.schemas.extend(schemas);
        for (name, description, retry_after) in RESPONSES {
            let error_body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build();
            let mut response = ResponseBuilder::new()
                .description(description)
                .content("application/json", error_body);
            if retry_after {
                let seconds = HeaderBuilder::new()
                    .schema(Some(Object::with_type(Type::Integer)))
                    .description(Some("Seconds to wait before trying again"))
                    .build();
                response = response.header("Retry-After", seconds);
            }
            components
                .responses
                .insert(name.to_owned(), response.build().into());
        }
    }
}
