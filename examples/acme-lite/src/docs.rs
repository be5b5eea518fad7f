//! The interactive API reference at `/docs`: Swagger UI over the app's own
//! `/openapi.json`, every file served by the app, so it works offline. On by default
//! outside production; `API_DOCS` decides.

use axum::{
    Extension, Router,
    extract::Request,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};
use swagger_ui_dist::{ApiDefinition, OpenApiSource};
use tower::ServiceExt;

use crate::{middleware::OwnPolicy, openapi::DOCUMENT_PATH};

/// Where Swagger UI's own files are served.
const ASSETS: &str = "/docs/swagger-ui";

/// The page's policy: scripts and styles from the app alone (Swagger UI also sets
/// style attributes, and draws icons from data: URLs), requests to the app alone.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                      img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                      base-uri 'none'; form-action 'none'";

/// The reference's routes, or none when `API_DOCS` is off.
pub fn router(enabled: bool) -> Router {
    if !enabled {
        return Router::new();
    }
    // The crate's routes serve Swagger UI's files, and pages of its own that this app
    // does not want (their inline script, which our page replaces with `start.js`,
    // would need a looser policy): only the two files the page loads are mounted.
    let swagger_ui = swagger_ui_dist::generate_routes(ApiDefinition {
        uri_prefix: ASSETS,
        api_definition: OpenApiSource::Uri(DOCUMENT_PATH),
        title: None,
    });
    let file = get(move |request: Request| swagger_ui.clone().oneshot(request));
    Router::new()
        .route(&format!("{ASSETS}/swagger-ui.css"), file.clone())
        .route(&format!("{ASSETS}/swagger-ui-bundle.js"), file)
        .route("/docs", get(page))
        .route("/docs/start.js", get(start_script))
}

async fn page() -> impl IntoResponse {
    let page = format!(
        "<!doctype html>\n\
         <html lang=\"en\">\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>API reference</title>\n\
         <link rel=\"stylesheet\" href=\"{ASSETS}/swagger-ui.css\">\n\
         <div id=\"swagger-ui\"></div>\n\
         <script src=\"{ASSETS}/swagger-ui-bundle.js\"></script>\n\
         <script src=\"/docs/start.js\"></script>\n\
         </html>\n"
    );
    (Extension(OwnPolicy(POLICY)), Html(page))
}

/// Starts Swagger UI on the app's document. "Try it out" sends the browser's session
/// cookie, so a signed-in user can call every route from the page.
async fn start_script() -> impl IntoResponse {
    let script = [
        "window.addEventListener(\"load\", () => {\n",
        "  window.ui = SwaggerUIBundle({ url: \"",
        DOCUMENT_PATH,
        "\", dom_id: \"#swagger-ui\" });\n",
        "});\n",
    ]
    .concat();
    ([(header::CONTENT_TYPE, "text/javascript")], script)
}
