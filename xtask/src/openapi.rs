//! `cargo xtask openapi [--check]`: an OpenAPI 3.1 description of HasData's Scraper Jobs API,
//! written to `openapi/hasdata-jobs.json` from hasdata-model's schemas alone.
//!
//! HasData publishes no machine-readable description of the jobs API. This one is built from
//! the same registry as `schemas/`, so it is exactly as tolerant as the client's reader: what
//! the client does not require, the document does not require. The model's schemas are JSON
//! Schema 2020-12, which OpenAPI 3.1 takes as it is; their `$defs` are hoisted into
//! `components/schemas` (one name per definition; a clash between two different definitions
//! is an error rather than a silent overwrite).
//!
//! What the model does not hold is written here, each piece with its evidence: the paths and
//! methods (the seed page), the error body (the shapes HasData's official clients decode), the
//! `x-api-key` scheme and the three webhook events.

use std::collections::BTreeMap;
use std::path::Path;
use std::{fs, io};

use hasdata_model::ScraperKind;
use serde_json::{Map, Value, json};

/// Where the document lives, relative to the repository root.
pub(crate) const DOCUMENT: &str = "openapi/hasdata-jobs.json";

/// Where the description of our own webhook receiver lives: the server `hasdata webhook listen`
/// runs, described so that schemathesis can attack it like any other API.
pub(crate) const RECEIVER_DOCUMENT: &str = "openapi/webhook-receiver.json";

/// Both documents, by path.
fn documents() -> Result<Vec<(&'static str, Value)>, String> {
    Ok(vec![
        (DOCUMENT, build()?),
        (RECEIVER_DOCUMENT, build_receiver()?),
    ])
}

fn render(document: &Value) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(document).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

/// Writes both documents (exact bytes: pretty JSON, keys sorted, a trailing newline); says
/// which changed.
pub(crate) fn write(root: &Path) -> io::Result<String> {
    let mut report = Vec::new();
    for (name, document) in documents().map_err(io::Error::other)? {
        let text = render(&document).map_err(io::Error::other)?;
        let path = root.join(name);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        if fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            report.push(format!("{name}: up to date"));
        } else {
            fs::write(&path, text)?;
            report.push(format!("{name}: written"));
        }
    }
    Ok(report.join("\n"))
}

/// `None` when the checked-in documents are what the model generates; otherwise what is wrong.
pub(crate) fn check(root: &Path) -> io::Result<Option<String>> {
    let mut problems = Vec::new();
    for (name, document) in documents().map_err(io::Error::other)? {
        let expected = render(&document).map_err(io::Error::other)?;
        match fs::read_to_string(root.join(name)) {
            Ok(actual) if actual.replace("\r\n", "\n") == expected => {}
            Ok(_) => problems.push(format!("{name} is stale")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("{name} is missing"))
            }
            Err(e) => return Err(e),
        }
    }
    if problems.is_empty() {
        return Ok(None);
    }
    problems.push("Run `cargo xtask openapi` and commit the result.".into());
    Ok(Some(problems.join("\n")))
}

/// Collects component schemas, hoisting each schema's `$defs`.
#[derive(Default)]
struct Components {
    schemas: BTreeMap<String, Value>,
}

impl Components {
    /// Adds `schema` under `name` (its `$defs` become siblings) and returns a `$ref` to it.
    fn add(&mut self, name: &str, schema: Value) -> Result<Value, String> {
        let mut schema = schema;
        rewrite_refs(&mut schema);
        if let Some(object) = schema.as_object_mut() {
            object.remove("$schema");
            object.remove("$comment");
            if let Some(Value::Object(defs)) = object.remove("$defs") {
                for (def_name, def) in defs {
                    self.insert(&def_name, def)?;
                }
            }
        }
        self.insert(name, schema)?;
        Ok(reference(name))
    }

    fn insert(&mut self, name: &str, schema: Value) -> Result<(), String> {
        match self.schemas.get(name) {
            Some(existing) if *existing != schema => Err(format!(
                "two different schemas are both named {name:?}; rename one in hasdata-model"
            )),
            _ => {
                self.schemas.insert(name.to_owned(), schema);
                Ok(())
            }
        }
    }
}

/// `#/$defs/X` becomes `#/components/schemas/X`, everywhere in `value`.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object.iter_mut() {
                match inner {
                    Value::String(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/components/schemas/{name}");
                        }
                    }
                    _ => rewrite_refs(inner),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

/// The error body: every shape HasData's official clients decode (`{message}`, `{error}`,
/// `{errors: [...]}`, `{status: "error", message, errors}`), so nothing is required.
fn error_body() -> Value {
    json!({
        "description": "An error as HasData sends it. Seen shapes: `{message}`, `{error}`, `{errors: [...]}` and `{status: \"error\", message, errors}`; none of the fields is guaranteed, so none is required. A 422 lists the allowed values in its message.",
        "type": ["object", "string", "array", "null"],
        "properties": {
            "message": {},
            "error": {},
            "errors": {},
            "status": {}
        },
        "additionalProperties": true
    })
}

/// The responses every call can get besides its success.
fn error_responses(extra: &[(&str, &str)]) -> Map<String, Value> {
    let mut responses = Map::new();
    let common = [
        ("401", "The API key is missing or invalid."),
        (
            "403",
            "Not enough credits, or the plan's quota is exhausted. Permanent: do not retry.",
        ),
        (
            "429",
            "The plan's concurrency cap is reached. Retry after `Retry-After` when sent; on a submit, no job was created.",
        ),
        (
            "5XX",
            "A server error. A GET or DELETE may be retried; a POST only when it surely never reached the server.",
        ),
    ];
    for (status, description) in common.iter().chain(extra) {
        responses.insert(
            (*status).to_owned(),
            json!({
                "description": description,
                "content": json_content(reference("ErrorBody")),
            }),
        );
    }
    responses
}

/// The submit answer's `id` feeds the three job calls, so tools that follow links (schemathesis'
/// stateful phase, Postman flows) reach real jobs instead of 404s.
fn job_links() -> Value {
    let link = |operation: &str, description: &str| {
        json!({
            "operationId": operation,
            "parameters": { "id": "$response.body#/id" },
            "description": description,
        })
    };
    json!({
        "status": link("job_status", "Poll the new job."),
        "results": link("job_results", "Read the new job's rows."),
        "stop": link("stop_job", "Stop the new job."),
    })
}

fn job_id_parameter() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The job id exactly as the submit answered it (an integer live; the docs pages also show other strings). Echo it back; never parse it.",
        "schema": { "type": "string", "minLength": 1 }
    })
}

fn submit_operation(kind: ScraperKind, body: Value, record: &Value) -> Value {
    let slug = kind.as_str();
    let rows = if kind.row_shape_known() {
        format!("Its rows are described by the `row.{slug}` schema.")
    } else {
        "Its row shape is not documented; rows are kept exactly as sent.".to_owned()
    };
    let mut responses = Map::new();
    responses.insert(
        "2XX".into(),
        json!({
            "description": "The new job's full record. Its `id` is the only handle to the job: store it before anything else.",
            "content": json_content(record.clone()),
            "links": job_links(),
        }),
    );
    responses.extend(error_responses(&[
        ("400", "The body is not JSON."),
        (
            "422",
            "The body is invalid; the message names the field and, for closed lists, the allowed values.",
        ),
    ]));
    json!({
        "operationId": format!("submit_{}", slug.replace('-', "_")),
        "summary": format!("Submit a `{slug}` job"),
        "description": format!("Starts a bulk `{slug}` job; the job runs asynchronously and is billed per successful row. {rows}"),
        "tags": ["jobs"],
        "parameters": [{
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "A UUID per intended job, as HasData's own CLI sends. Whether the server honours it is not documented.",
            "schema": { "type": "string" }
        }],
        "requestBody": {
            "required": true,
            "content": json_content(body),
        },
        "responses": responses,
    })
}

fn webhook_operation(event: &str, description: &str, schema: &Value) -> Value {
    json!({
        "post": {
            "operationId": format!("webhook_{}", event.replace('.', "_")),
            "summary": format!("The `{event}` event"),
            "description": format!("{description} Delivery is asynchronous, order is not guaranteed, and a non-2xx answer is retried 3 times before the event is dropped. There is no signature: authenticate with a secret pinned in `webhook.headers`."),
            "tags": ["webhooks"],
            "requestBody": { "required": true, "content": json_content(schema.clone()) },
            "responses": {
                "2XX": { "description": "Acknowledged; HasData will not send this delivery again." },
                "default": { "description": "Not acknowledged; HasData retries (3 attempts in all)." }
            }
        }
    })
}

/// The whole document.
fn build() -> Result<Value, String> {
    let mut components = Components::default();
    let mut named = BTreeMap::new();
    for schema in hasdata_model::schemas::all() {
        let reference = components.add(&schema.name, schema.schema.to_value())?;
        named.insert(schema.name, reference);
    }
    components.insert("ErrorBody", error_body())?;
    let get = |name: &str| {
        named
            .get(name)
            .cloned()
            .ok_or_else(|| format!("hasdata-model publishes no {name:?} schema"))
    };
    let record = get("job-record")?;
    // A status answer is a job record (`job-status` is the schema of its `status` string).
    let status = record.clone();
    let page = get("results-page")?;
    let event = get("webhook-event")?;

    let mut paths = Map::new();
    for &kind in ScraperKind::ALL {
        let body = get(&format!("body.{kind}"))?;
        paths.insert(
            format!("/scrapers/{kind}/jobs"),
            json!({ "post": submit_operation(kind, body, &record) }),
        );
    }

    let mut status_responses = Map::new();
    status_responses.insert(
        "2XX".into(),
        json!({
            "description": "The job's status. Counts arrive as numbers or as strings once populated; a finished job may carry short-lived download links in `data`.",
            "content": json_content(status.clone()),
        }),
    );
    status_responses.extend(error_responses(&[("404", "No such job.")]));
    let mut stop_responses = Map::new();
    stop_responses.insert(
        "2XX".into(),
        json!({
            "description": "The job was stopped; rows produced so far are kept. The answer's shape is not documented: read it as a status.",
            "content": json_content(status),
        }),
    );
    stop_responses.extend(error_responses(&[("404", "No such job.")]));
    paths.insert(
        "/scrapers/jobs/{id}".into(),
        json!({
            "parameters": [job_id_parameter()],
            "get": {
                "operationId": "job_status",
                "summary": "A job's status",
                "description": "Poll no faster than every 10 s against the real API: start at 10 s, multiply by 1.5, cap at 60 s. `finished`, `finished_with_error` and `stopped` are terminal; other values (such as `exporting_data`) may appear.",
                "tags": ["jobs"],
                "responses": status_responses,
            },
            "delete": {
                "operationId": "stop_job",
                "summary": "Stop a job early",
                "tags": ["jobs"],
                "responses": stop_responses,
            }
        }),
    );

    let mut page_responses = Map::new();
    let typed_rows: Vec<Value> = ScraperKind::ALL
        .iter()
        .filter(|kind| kind.row_shape_known())
        .map(|kind| json!({ "scraper": kind.as_str(), "row": reference(&format!("row.{kind}")) }))
        .collect();
    page_responses.insert(
        "2XX".into(),
        json!({
            "description": "One page of rows. Each row is double-wrapped: the scraped row is `data[i].data`. Stop on `meta.currentPage >= meta.lastPage`; `meta.total` can lag right after a job finishes.",
            "content": json_content(page),
        }),
    );
    page_responses.extend(error_responses(&[("404", "No such job.")]));
    paths.insert(
        "/scrapers/jobs/{id}/results".into(),
        json!({
            "parameters": [job_id_parameter()],
            "get": {
                "operationId": "job_results",
                "summary": "A page of a job's rows",
                "tags": ["jobs"],
                "parameters": [
                    { "name": "page", "in": "query", "required": false, "description": "1-based page number.", "schema": { "type": "integer", "minimum": 1 } },
                    { "name": "limit", "in": "query", "required": false, "description": "Rows per page, at most 100.", "schema": { "type": "integer", "minimum": 1, "maximum": 100 } }
                ],
                "x-hasdata-typed-rows": typed_rows,
                "responses": page_responses,
            }
        }),
    );

    let webhooks = json!({
        "scraper.job.started": webhook_operation("scraper.job.started", "Sent when the job starts.", &event),
        "scraper.data.scraped": webhook_operation("scraper.data.scraped", "Sent many times while the job runs; `data` is an array of rows.", &event),
        "scraper.job.finished": webhook_operation("scraper.job.finished", "Sent when the job ends.", &event),
    });

    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "HasData Scraper Jobs API",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Asynchronous bulk scraping jobs: submit, poll, read rows, stop; webhooks.",
            "description": "An unofficial description, generated by hasdata-rs (`cargo xtask openapi`) from hasdata-model. It is as tolerant as the hasdata-rs reader: fields the client does not need are optional. Descriptions note where a fact was taken from the synchronous API and is not confirmed for jobs.",
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" }
        },
        "servers": [{ "url": "https://api.hasdata.com" }],
        "security": [{ "apiKey": [] }],
        "tags": [
            { "name": "jobs", "description": "Submit, poll, page and stop." },
            { "name": "webhooks", "description": "Calls HasData makes to a URL given in a job's `webhook` field." }
        ],
        "paths": paths,
        "webhooks": webhooks,
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "The account's API key. Send it to api.hasdata.com only: download links point at other hosts."
                }
            },
            "schemas": components.schemas,
        }
    }))
}

/// Our webhook receiver (`hasdata webhook listen`, `WebhookReceiver`) as an API of its own:
/// one POST at its default path, the shared-secret header, and every answer it may give. Any
/// input must get a clear 4xx or a 2xx, never a 5xx other than 503 (queue full) or a hang.
fn build_receiver() -> Result<Value, String> {
    let mut components = Components::default();
    let event = components.add(
        "webhook-event",
        hasdata_model::schemas::all()
            .into_iter()
            .find(|named| named.name == "webhook-event")
            .ok_or("hasdata-model publishes no webhook-event schema")?
            .schema
            .to_value(),
    )?;
    let plain = |description: &str| json!({ "description": description });
    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hasdata-rs webhook receiver",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The server `hasdata webhook listen` runs to take HasData's webhook calls. Generated by `cargo xtask openapi`; CI runs schemathesis against it.",
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" }
        },
        "servers": [{ "url": "http://127.0.0.1:8088" }],
        "security": [{ "sharedSecret": [] }],
        "paths": {
            "/hasdata-hook": {
                "post": {
                    "operationId": "receive_event",
                    "summary": "One webhook delivery",
                    "requestBody": { "required": true, "content": json_content(event) },
                    "responses": {
                        "200": plain("Queued for the consumer, or a repeat of a delivery already queued. JSON that does not match the event shape is acknowledged too, and delivered raw; the Content-Type is not checked."),
                        "400": plain("The body is not JSON."),
                        "401": plain("The shared-secret header is missing or wrong."),
                        "413": plain("The body is larger than the receiver's limit."),
                        "503": plain("The consumer is behind or gone: nothing was queued, so HasData's retry is wanted.")
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "sharedSecret": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-hook-secret",
                    "description": "The secret the submitter pinned in `webhook.headers`; the header name is configurable."
                }
            },
            "schemas": components.schemas,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_root;

    /// Plain `cargo test` catches a stale document, not only CI's `--check`.
    #[test]
    fn checked_in_documents_are_up_to_date() {
        let problem = check(&project_root()).expect("openapi/ is readable");
        assert!(problem.is_none(), "{}", problem.unwrap_or_default());
    }

    /// Every `$ref` in both documents points at a component that exists.
    #[test]
    fn every_reference_resolves() {
        for (name, document) in documents().expect("builds") {
            let schemas = document["components"]["schemas"]
                .as_object()
                .expect("components")
                .clone();
            let mut refs = Vec::new();
            collect_refs(&document, &mut refs);
            assert!(!refs.is_empty(), "{name} has no references");
            for target in refs {
                let component = target
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("{name}: a reference outside components: {target}"));
                assert!(
                    schemas.contains_key(component),
                    "{name}: {target} does not resolve"
                );
            }
        }
    }

    #[test]
    fn one_submit_path_per_scraper_and_the_three_webhooks() {
        let document = build().expect("builds");
        for kind in ScraperKind::ALL {
            let path = &document["paths"][format!("/scrapers/{kind}/jobs")]["post"];
            assert_eq!(
                path["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                format!("#/components/schemas/body.{kind}")
            );
        }
        let webhooks = document["webhooks"].as_object().expect("webhooks");
        assert_eq!(webhooks.len(), 3);
    }

    #[test]
    fn a_clash_between_two_different_definitions_is_an_error() {
        let mut components = Components::default();
        components
            .add("a", json!({"$defs": {"X": {"type": "string"}}}))
            .expect("first");
        components
            .add("b", json!({"$defs": {"X": {"type": "string"}}}))
            .expect("the same definition twice is fine");
        let error = components
            .add("c", json!({"$defs": {"X": {"type": "integer"}}}))
            .expect_err("a different one is not");
        assert!(error.contains("\"X\""), "{error}");
    }

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, inner) in object {
                    match inner {
                        Value::String(target) if key == "$ref" => out.push(target.clone()),
                        _ => collect_refs(inner, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
            _ => {}
        }
    }
}
