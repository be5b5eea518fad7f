//! `FakeStripe`: a local server speaking Stripe's wire format for the calls the app
//! makes (customers, Checkout sessions and their expiry, portal sessions, reading and
//! cancelling a subscription), so tests can check what the app sends and make Stripe
//! fail on purpose.
//!
//! Requests are form-encoded with a bearer secret key; answers are Stripe's JSON
//! shapes, errors included (`{"error": {"type", "message", "code"}}`). Like Stripe, a
//! POST repeated with the same `Idempotency-Key` and the same parameters gets the first
//! answer again instead of creating a second object, a 5xx of Stripe's own included.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The secret key the fake accepts; anything else is answered 401.
pub const SECRET_KEY: &str = "sk_test_fake";

/// One request the fake received, as the app sent it.
#[derive(Debug, Clone)]
pub struct StripeRequest {
    pub method: String,
    pub path: String,
    /// The whole `Authorization` header, if any.
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    /// The form fields in the order they were sent, keys as Stripe spells them
    /// (`line_items[0][price]`).
    pub form: Vec<(String, String)>,
}

impl StripeRequest {
    /// The value of form field `name`, if it was sent (the first, if sent twice).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A failure to answer instead of the next call to a path.
#[derive(Debug, Clone)]
struct Failure {
    path: Option<String>,
    status: StatusCode,
}

/// A request made with an idempotency key, and what it was answered.
#[derive(Debug)]
struct Answered {
    path: String,
    form: Vec<(String, String)>,
    answer: Result<Value, StripeError>,
}

/// An error as Stripe answers it.
#[derive(Debug, Clone)]
struct StripeError {
    status: StatusCode,
    kind: &'static str,
    code: Option<&'static str>,
    message: String,
}

impl StripeError {
    fn invalid(status: StatusCode, code: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            status,
            kind: "invalid_request_error",
            code,
            message: message.into(),
        }
    }

    /// The error Stripe sends with each status the tests inject.
    fn injected(status: StatusCode) -> Self {
        let (kind, code) = match status.as_u16() {
            402 => ("card_error", Some("card_declined")),
            400..=499 => ("invalid_request_error", None),
            _ => ("api_error", None),
        };
        Self {
            status,
            kind,
            code,
            message: FAILURE_MESSAGE.to_owned(),
        }
    }
}

impl IntoResponse for StripeError {
    fn into_response(self) -> Response {
        let mut error = json!({ "type": self.kind, "message": self.message });
        if let Some(code) = self.code {
            error["code"] = json!(code);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// What the fake remembers.
#[derive(Debug, Default)]
struct Ledger {
    requests: Vec<StripeRequest>,
    /// Customer ids, in the order they were created.
    customers: Vec<String>,
    /// Checkout session id -> its status (`open`, `expired`).
    sessions: HashMap<String, &'static str>,
    /// Subscription id -> its status, as tests declare them (subscriptions are made by
    /// Checkout, which the tests play with webhooks).
    subscriptions: HashMap<String, String>,
    /// Idempotency key -> the request it was first used with and the answer given.
    idempotent: HashMap<String, Answered>,
    failures: Vec<Failure>,
    next_id: u32,
}

/// A running fake Stripe API on 127.0.0.1.
#[derive(Clone)]
pub struct FakeStripe {
    base_url: String,
    ledger: Arc<Mutex<Ledger>>,
}

/// The marker the fake puts in the message of the failures it is told to answer with:
/// the app must log it, never pass it to its client.
pub const FAILURE_MESSAGE: &str = "fake-stripe-injected-failure";

impl FakeStripe {
    /// Starts the fake on a port the OS picks; it serves until the test's runtime ends.
    pub async fn start() -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let router = Router::new().fallback(answer).with_state(ledger.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port for the fake Stripe");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base_url, ledger }
    }

    /// What `STRIPE_API_BASE` should be.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<StripeRequest> {
        self.ledger().requests.clone()
    }

    /// The requests received so far for `path`, such as `/v1/customers`.
    pub fn requests_to(&self, path: &str) -> Vec<StripeRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.path == path)
            .collect()
    }

    /// The ids of the customers created so far, once each, in order.
    pub fn customers(&self) -> Vec<String> {
        self.ledger().customers.clone()
    }

    /// The Checkout sessions still open, that is, neither expired nor paid.
    pub fn open_sessions(&self) -> Vec<String> {
        let ledger = self.ledger();
        let mut open: Vec<String> = ledger
            .sessions
            .iter()
            .filter(|(_, status)| **status == "open")
            .map(|(id, _)| id.clone())
            .collect();
        open.sort();
        open
    }

    /// Declares a subscription Stripe has, with its status.
    pub fn set_subscription(&self, id: &str, status: &str) {
        self.ledger()
            .subscriptions
            .insert(id.to_owned(), status.to_owned());
    }

    /// A subscription's status as Stripe has it now.
    pub fn subscription(&self, id: &str) -> Option<String> {
        self.ledger().subscriptions.get(id).cloned()
    }

    /// Waits (the app calls Stripe from background jobs too) until `count` requests to
    /// `path` arrived, and returns them.
    pub async fn wait_for_requests(&self, path: &str, count: usize) -> Vec<StripeRequest> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let requests = self.requests_to(path);
            if requests.len() >= count {
                return requests;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {count} requests to {path}: {:?}",
                self.requests()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Answers the next request, whatever its path, with `status` and a Stripe error.
    pub fn fail_next(&self, status: StatusCode) {
        self.ledger().failures.push(Failure { path: None, status });
    }

    /// Answers the next request to `path` with `status` and a Stripe error.
    pub fn fail_next_call_to(&self, path: &str, status: StatusCode) {
        self.ledger().failures.push(Failure {
            path: Some(path.to_owned()),
            status,
        });
    }
}

async fn answer(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let request = StripeRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        authorization: header_text(header::AUTHORIZATION),
        idempotency_key: header_text(header::HeaderName::from_static("idempotency-key")),
        form: url::form_urlencoded::parse(&body).into_owned().collect(),
    };
    // One lock for the whole request: concurrent calls are answered one at a time,
    // which is all the ordering the tests need.
    let mut ledger = ledger.lock().unwrap();
    ledger.requests.push(request.clone());

    match ledger.answer(&request) {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

impl Ledger {
    fn answer(&mut self, request: &StripeRequest) -> Result<Value, StripeError> {
        if request.authorization.as_deref() != Some(&format!("Bearer {SECRET_KEY}")) {
            return Err(StripeError::invalid(
                StatusCode::UNAUTHORIZED,
                None,
                "Invalid API Key provided",
            ));
        }
        if let Some(id) = request.path.strip_prefix("/v1/subscriptions/") {
            return self.subscription(&request.method, id);
        }
        if request.method != "POST" {
            return Err(StripeError::invalid(
                StatusCode::NOT_FOUND,
                None,
                "Unrecognized request URL",
            ));
        }
        if let Some(key) = &request.idempotency_key
            && let Some(answered) = self.idempotent.get(key)
        {
            if answered.path != request.path || answered.form != request.form {
                return Err(StripeError {
                    status: StatusCode::BAD_REQUEST,
                    kind: "idempotency_error",
                    code: None,
                    message: "Keys for idempotent requests can only be used with the same parameters they were first used with".to_owned(),
                });
            }
            return answered.answer.clone();
        }
        let answer = match self.failures.iter().position(|failure| {
            failure
                .path
                .as_ref()
                .is_none_or(|path| *path == request.path)
        }) {
            Some(index) => Err(StripeError::injected(self.failures.remove(index).status)),
            None => self.create(request),
        };
        // Like Stripe, keep the answer for the key: a success, or a 5xx of its own (an
        // invalid request is not kept, as it never ran).
        let kept = match &answer {
            Ok(_) => true,
            Err(error) => error.status.is_server_error(),
        };
        if let Some(key) = &request.idempotency_key
            && kept
        {
            let answered = Answered {
                path: request.path.clone(),
                form: request.form.clone(),
                answer: answer.clone(),
            };
            self.idempotent.insert(key.clone(), answered);
        }
        answer
    }

    /// `GET` reads a declared subscription, `DELETE` cancels it.
    fn subscription(&mut self, method: &str, id: &str) -> Result<Value, StripeError> {
        let Some(status) = self.subscriptions.get_mut(id) else {
            return Err(StripeError::invalid(
                StatusCode::NOT_FOUND,
                Some("resource_missing"),
                format!("No such subscription: '{id}'"),
            ));
        };
        match method {
            "GET" => {}
            "DELETE" => *status = "canceled".to_owned(),
            _ => {
                return Err(StripeError::invalid(
                    StatusCode::NOT_FOUND,
                    None,
                    "Unrecognized request URL",
                ));
            }
        }
        Ok(json!({ "id": id, "object": "subscription", "status": status }))
    }

    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_test_{:06}", self.next_id)
    }

    fn known_customer(&self, request: &StripeRequest) -> Result<String, StripeError> {
        let Some(customer) = request.field("customer") else {
            return Err(StripeError::invalid(
                StatusCode::BAD_REQUEST,
                Some("parameter_missing"),
                "Missing required param: customer.",
            ));
        };
        if !self.customers.iter().any(|known| known == customer) {
            return Err(StripeError::invalid(
                StatusCode::BAD_REQUEST,
                Some("resource_missing"),
                format!("No such customer: '{customer}'"),
            ));
        }
        Ok(customer.to_owned())
    }

    /// Creates what a POST to `request.path` creates, or says why not as Stripe would.
    fn create(&mut self, request: &StripeRequest) -> Result<Value, StripeError> {
        match request.path.as_str() {
            "/v1/customers" => {
                let id = self.new_id("cus");
                self.customers.push(id.clone());
                let metadata: serde_json::Map<String, Value> = request
                    .form
                    .iter()
                    .filter_map(|(key, value)| {
                        let name = key.strip_prefix("metadata[")?.strip_suffix(']')?;
                        Some((name.to_owned(), json!(value)))
                    })
                    .collect();
                Ok(json!({
                    "id": id,
                    "object": "customer",
                    "email": request.field("email"),
                    "name": request.field("name"),
                    "metadata": metadata,
                }))
            }
            "/v1/checkout/sessions" => {
                let customer = self.known_customer(request)?;
                if request.field("mode") != Some("subscription")
                    || request.field("line_items[0][price]").is_none()
                {
                    return Err(StripeError::invalid(
                        StatusCode::BAD_REQUEST,
                        Some("parameter_missing"),
                        "A subscription Checkout session needs mode=subscription and line_items[0][price].",
                    ));
                }
                let id = self.new_id("cs");
                self.sessions.insert(id.clone(), "open");
                Ok(json!({
                    "id": id,
                    "object": "checkout.session",
                    "mode": "subscription",
                    "customer": customer,
                    "client_reference_id": request.field("client_reference_id"),
                    "url": format!("https://checkout.stripe.test/c/pay/{id}"),
                }))
            }
            path if path.starts_with("/v1/checkout/sessions/") && path.ends_with("/expire") => {
                let id = &path["/v1/checkout/sessions/".len()..path.len() - "/expire".len()];
                match self.sessions.get_mut(id) {
                    Some(status) if *status == "open" => *status = "expired",
                    Some(_) => {
                        return Err(StripeError::invalid(
                            StatusCode::BAD_REQUEST,
                            None,
                            "Only Checkout Sessions with a status in [\"open\"] can be expired.",
                        ));
                    }
                    None => {
                        return Err(StripeError::invalid(
                            StatusCode::NOT_FOUND,
                            Some("resource_missing"),
                            format!("No such checkout.session: '{id}'"),
                        ));
                    }
                }
                Ok(json!({ "id": id, "object": "checkout.session", "status": "expired" }))
            }
            "/v1/billing_portal/sessions" => {
                let customer = self.known_customer(request)?;
                let id = self.new_id("bps");
                Ok(json!({
                    "id": id,
                    "object": "billing_portal.session",
                    "customer": customer,
                    "return_url": request.field("return_url"),
                    "url": format!("https://billing.stripe.test/p/session/{id}"),
                }))
            }
            _ => Err(StripeError::invalid(
                StatusCode::NOT_FOUND,
                None,
                "Unrecognized request URL",
            )),
        }
    }
}
