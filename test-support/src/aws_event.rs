//! A front door's translation, done by a test: an HTTP request put into a sample Lambda event of
//! one front door's shape (API Gateway REST API, HTTP API, Function URL, ALB, VPC Lattice, the
//! proxy's own event), and the function's answer in that shape read back as an HTTP response.
//!
//! What AWS fills in, and how this module fills it in:
//!
//! | shape | path | query | headers | body |
//! | --- | --- | --- | --- | --- |
//! | REST API | `path`, `requestContext.path` (stage or base path kept), `pathParameters.proxy` or the exact `resource` | `queryStringParameters` (last value), `multiValueQueryStringParameters`, both URL-decoded, `null` when none | `headers` (last value), `multiValueHeaders` | always base64 (binary media types `*/*`), `null` when empty |
//! | HTTP API, Function URL | `rawPath` (named stage in front), `requestContext.http.path` | `rawQueryString` as sent, `queryStringParameters` decoded, repeated names joined by `,` | lower-case names, repeated values joined by `,`, `cookie` moved to `cookies` | text for `application/json`, base64 otherwise, absent when empty |
//! | ALB | `path` | `queryStringParameters` or, with multi-value headers on, `multiValueQueryStringParameters` only, NOT decoded (ALB passes them as sent) | lower-case names, `headers` (last value) or `multiValueHeaders` only | text for `application/json`, base64 otherwise |
//! | VPC Lattice (v2) | `path` | `queryStringParameters`, each a list, decoded | lower-case names, each a list | text for `application/json`, base64 otherwise |
//! | proxy (`grpcLambda`) | `path` | none | pairs in order | base64 |

use serde_json::{json, Map, Value};

/// An HTTP request as a client sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// The path as sent (percent-encoding kept), without the query.
    pub path: String,
    /// The query string as sent, without the `?`; empty when there is none.
    pub query: String,
    /// Header entries in order, one per line, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// An HTTP response, as the front door sends it on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header entries in order, one per value.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The front door a sample event comes from, read from its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// API Gateway REST API (payload format 1.0); `multi_value` when it has `multiValueHeaders`.
    RestApi {
        /// Whether the sample carries `multiValueHeaders`.
        multi_value: bool,
    },
    /// API Gateway HTTP API or a Function URL (payload format 2.0).
    HttpApi,
    /// An Application Load Balancer; `multi_value` when multi-value headers are on.
    Alb {
        /// Whether the sample carries `multiValueHeaders`.
        multi_value: bool,
    },
    /// VPC Lattice, event format v2.
    VpcLattice,
    /// grpc-lambda-proxy's own event (`grpcLambda`).
    Proxy,
}

impl Shape {
    /// The shape of `event`.
    pub fn of(event: &Map<String, Value>) -> Shape {
        let multi_value = event.contains_key("multiValueHeaders");
        if event.contains_key("grpcLambda") {
            Shape::Proxy
        } else if event.contains_key("rawPath") {
            Shape::HttpApi
        } else if event.contains_key("method") {
            Shape::VpcLattice
        } else if event
            .get("requestContext")
            .is_some_and(|c| c.get("elb").is_some())
        {
            Shape::Alb { multi_value }
        } else {
            Shape::RestApi { multi_value }
        }
    }
}

/// Parses a sample event.
///
/// # Errors
///
/// When `sample` is not a JSON object.
pub fn parse_sample(sample: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(sample) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("the sample event is not a JSON object".to_owned()),
        Err(err) => Err(format!("the sample event is not JSON: {err}")),
    }
}

/// Sets the request method where the shape keeps it.
pub fn set_method(object: &mut Map<String, Value>, method: &str) {
    for key in ["httpMethod", "method"] {
        if object.contains_key(key) {
            object.insert(key.into(), json!(method));
        }
    }
    if let Some(http) = object
        .get_mut("requestContext")
        .and_then(|c| c.get_mut("http"))
    {
        http["method"] = json!(method);
    }
}

/// `prefix` + `path`, where `prefix` is what comes before `tail` at the end of `old` (a stage or
/// a base path); `path` alone when `old` does not end with `tail`.
fn keep_prefix(old: Option<&Value>, tail: &str, path: &str) -> String {
    let prefix = old
        .and_then(Value::as_str)
        .and_then(|old| old.strip_suffix(tail))
        .unwrap_or_default();
    format!("{prefix}{path}")
}

/// Sets every field of `object` that carries the request path as the sample's front door
/// would for a call of `path` (which starts with `/`): a REST API's `path`,
/// `pathParameters.proxy` and `requestContext.path` (a stage or base path before the old path
/// kept), or its exact `resource`; an HTTP API's `rawPath` and `requestContext.http.path`, its
/// stage kept in front; `path` everywhere else.
pub fn set_path(object: &mut Map<String, Value>, path: &str) {
    let proxy = path.strip_prefix('/').unwrap_or(path);
    let old_proxy = object
        .get("pathParameters")
        .and_then(|p| p.get("proxy"))
        .and_then(Value::as_str)
        .map(|p| format!("/{p}"));
    if let Some(Value::String(resource)) = object.get("resource") {
        if resource.contains("{proxy+}") {
            let old = old_proxy.unwrap_or_default();
            let new_path = keep_prefix(object.get("path"), &old, path);
            object.insert("path".into(), json!(new_path));
            if let Some(context) = object.get_mut("requestContext") {
                if context.get("path").is_some() {
                    context["path"] = json!(keep_prefix(context.get("path"), &old, path));
                }
            }
            object.insert("pathParameters".into(), json!({ "proxy": proxy }));
        } else {
            object.insert("resource".into(), json!(path));
            object.insert("path".into(), json!(path));
            if let Some(context) = object.get_mut("requestContext") {
                context["resourcePath"] = json!(path);
                context["path"] = json!(path);
            }
        }
        return;
    }
    if object.contains_key("rawPath") {
        let stage = object
            .get("requestContext")
            .and_then(|c| c.get("stage"))
            .and_then(Value::as_str)
            .filter(|stage| *stage != "$default");
        let raw_path = stage.map_or_else(|| path.to_owned(), |stage| format!("/{stage}{path}"));
        if let Some(http) = object
            .get_mut("requestContext")
            .and_then(|c| c.get_mut("http"))
        {
            http["path"] = json!(raw_path);
        }
        object.insert("rawPath".into(), json!(raw_path));
        if let Some(Value::Object(parameters)) = object.get_mut("pathParameters") {
            if parameters.contains_key("proxy") {
                parameters.insert("proxy".into(), json!(proxy));
            }
        }
        return;
    }
    object.insert("path".into(), json!(path));
}

/// The path a client calls for the method path `path` under the sample's front door: the URL's
/// path, stage or base path included (a REST API's `requestContext.path`, an HTTP API's
/// `rawPath`, `path` elsewhere).
pub fn client_path(sample: &Map<String, Value>, path: &str) -> String {
    let mut object = sample.clone();
    set_path(&mut object, path);
    let context_path = object
        .get("requestContext")
        .and_then(|c| c.get("path"))
        .and_then(Value::as_str);
    let seen = match Shape::of(&object) {
        Shape::RestApi { .. } => context_path.or_else(|| object.get("path")?.as_str()),
        Shape::HttpApi => object.get("rawPath").and_then(Value::as_str),
        _ => object.get("path").and_then(Value::as_str),
    };
    seen.unwrap_or(path).to_owned()
}

/// What a client puts before the method path under the sample's front door: `""`, or a stage
/// or base path such as `/prod` (no trailing `/`).
pub fn client_prefix(sample: &Map<String, Value>) -> String {
    const PROBE: &str = "/probe.Service/Method";
    let seen = client_path(sample, PROBE);
    seen.strip_suffix(PROBE).unwrap_or_default().to_owned()
}

fn remove_ignoring_case(map: &mut Map<String, Value>, names: &[&str]) {
    let doomed: Vec<String> = map
        .keys()
        .filter(|key| names.iter().any(|name| key.eq_ignore_ascii_case(name)))
        .cloned()
        .collect();
    for key in doomed {
        map.remove(&key);
    }
}

/// Puts `headers` into the sample's header fields in its shape's form (strings, lists, pairs),
/// replacing the sample's own entries of the same names and its `origin`, and keeping its other
/// entries: the sample's headers with a call's put in.
pub fn merge_headers(object: &mut Map<String, Value>, headers: &[(&str, &str)]) {
    let names: Vec<&str> = headers.iter().map(|(n, _)| *n).chain(["origin"]).collect();
    if object.contains_key("grpcLambda") {
        let pairs: Vec<Value> = headers.iter().map(|(n, v)| json!([n, v])).collect();
        object.insert("headers".into(), Value::Array(pairs));
        return;
    }
    let lattice = object.contains_key("method");
    if let Some(Value::Object(map)) = object.get_mut("headers") {
        remove_ignoring_case(map, &names);
        for (name, value) in headers {
            let value = if lattice {
                json!([value])
            } else {
                json!(value)
            };
            map.insert((*name).into(), value);
        }
    } else {
        let map: Map<String, Value> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), json!(v)))
            .collect();
        if !object.contains_key("multiValueHeaders") || lattice {
            object.insert("headers".into(), Value::Object(map));
        }
    }
    if let Some(Value::Object(map)) = object.get_mut("multiValueHeaders") {
        remove_ignoring_case(map, &names);
        for (name, value) in headers {
            map.insert((*name).into(), json!([value]));
        }
    }
}

/// Replaces the sample's headers with `headers` as the shape's front door passes a client's on
/// (see the module's table).
pub fn set_headers(object: &mut Map<String, Value>, headers: &[(String, String)]) {
    let shape = Shape::of(object);
    if shape == Shape::Proxy {
        let pairs: Vec<Value> = headers.iter().map(|(n, v)| json!([n, v])).collect();
        object.insert("headers".into(), Value::Array(pairs));
        return;
    }
    let lower = !matches!(shape, Shape::RestApi { .. });
    let mut single = Map::new();
    let mut multi = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let name = if lower {
            name.to_ascii_lowercase()
        } else {
            name.clone()
        };
        if shape == Shape::HttpApi && name == "cookie" {
            cookies.extend(value.split("; ").map(|c| json!(c)));
            continue;
        }
        let joined = match (shape, single.get(&name)) {
            (Shape::HttpApi, Some(Value::String(old))) => format!("{old},{value}"),
            _ => value.clone(),
        };
        single.insert(name.clone(), json!(joined));
        match multi.get_mut(&name) {
            Some(Value::Array(values)) => values.push(json!(value)),
            _ => {
                multi.insert(name, json!([value]));
            }
        }
    }
    match shape {
        Shape::RestApi { multi_value } => {
            object.insert("headers".into(), Value::Object(single));
            if multi_value {
                object.insert("multiValueHeaders".into(), Value::Object(multi));
            }
        }
        Shape::HttpApi => {
            object.insert("headers".into(), Value::Object(single));
            if cookies.is_empty() {
                object.remove("cookies");
            } else {
                object.insert("cookies".into(), Value::Array(cookies));
            }
        }
        Shape::Alb { multi_value: true } => {
            object.remove("headers");
            object.insert("multiValueHeaders".into(), Value::Object(multi));
        }
        Shape::Alb { multi_value: false } => {
            object.insert("headers".into(), Value::Object(single));
        }
        Shape::VpcLattice => {
            object.insert("headers".into(), Value::Object(multi));
        }
        Shape::Proxy => {}
    }
}

/// `%XX` decoded (invalid escapes kept as they are); `+` stays `+`.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Sets the query fields from the query string `query` as sent (see the module's table).
pub fn set_query(object: &mut Map<String, Value>, query: &str) {
    let shape = Shape::of(object);
    let pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    let decoded = !matches!(shape, Shape::Alb { .. });
    let mut single = Map::new();
    let mut multi = Map::new();
    for (name, value) in &pairs {
        let (name, value) = if decoded {
            (percent_decode(name), percent_decode(value))
        } else {
            ((*name).to_owned(), (*value).to_owned())
        };
        let joined = match (shape, single.get(&name)) {
            (Shape::HttpApi, Some(Value::String(old))) => format!("{old},{value}"),
            _ => value.clone(),
        };
        single.insert(name.clone(), json!(joined));
        match multi.get_mut(&name) {
            Some(Value::Array(values)) => values.push(json!(value)),
            _ => {
                multi.insert(name, json!([value]));
            }
        }
    }
    let none = pairs.is_empty();
    match shape {
        Shape::RestApi { .. } => {
            let or_null = |map: Map<String, Value>| {
                if none {
                    Value::Null
                } else {
                    Value::Object(map)
                }
            };
            object.insert("queryStringParameters".into(), or_null(single));
            object.insert("multiValueQueryStringParameters".into(), or_null(multi));
        }
        Shape::HttpApi => {
            object.insert("rawQueryString".into(), json!(query));
            if none {
                object.remove("queryStringParameters");
            } else {
                object.insert("queryStringParameters".into(), Value::Object(single));
            }
        }
        Shape::Alb { multi_value: true } => {
            object.remove("queryStringParameters");
            object.insert(
                "multiValueQueryStringParameters".into(),
                Value::Object(multi),
            );
        }
        Shape::Alb { multi_value: false } => {
            object.insert("queryStringParameters".into(), Value::Object(single));
        }
        Shape::VpcLattice => {
            object.insert("queryStringParameters".into(), Value::Object(multi));
        }
        Shape::Proxy => {}
    }
}

/// Whether a front door other than a REST API passes a body of this content type as text.
fn is_text(content_type: Option<&str>, content_encoding: Option<&str>) -> bool {
    let media = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    content_encoding.is_none() && media.is_some_and(|m| m == "application/json")
}

/// Sets `body` and `isBase64Encoded` (see the module's table).
pub fn set_body(object: &mut Map<String, Value>, request: &HttpRequest) {
    let shape = Shape::of(object);
    let text = !matches!(shape, Shape::RestApi { .. } | Shape::Proxy)
        && is_text(
            request.header("content-type"),
            request.header("content-encoding"),
        );
    let (body, base64) = match std::str::from_utf8(&request.body) {
        _ if request.body.is_empty() => (None, false),
        Ok(body) if text => (Some(body.to_owned()), false),
        _ => (Some(crate::base64_encode(&request.body)), true),
    };
    match (body, shape) {
        (None, Shape::RestApi { .. }) => {
            object.insert("body".into(), Value::Null);
        }
        (None, Shape::HttpApi) => {
            object.remove("body");
        }
        (None, _) => {
            object.insert("body".into(), json!(""));
        }
        (Some(body), _) => {
            object.insert("body".into(), json!(body));
        }
    }
    object.insert("isBase64Encoded".into(), json!(base64));
}

/// `sample` carrying `request`, whose path is `method_path` once the front door's prefix (see
/// [`client_prefix`]) is taken off: the sample's method, path, query, headers and body replaced.
///
/// # Errors
///
/// When `sample` is not a JSON object.
pub fn http_event(sample: &str, method_path: &str, request: &HttpRequest) -> Result<Value, String> {
    let mut object = parse_sample(sample)?;
    if Shape::of(&object) == Shape::Proxy {
        object.insert("path".into(), json!(method_path));
    } else {
        set_method(&mut object, &request.method);
        set_path(&mut object, method_path);
        set_query(&mut object, &request.query);
    }
    set_headers(&mut object, &request.headers);
    set_body(&mut object, request);
    Ok(Value::Object(object))
}

/// Reads the function's answer in any front door's shape: `statusCode`, `headers` (strings,
/// lists or pairs), `multiValueHeaders`, `cookies` (as `set-cookie`), `body` (base64-decoded when
/// `isBase64Encoded`).
///
/// # Errors
///
/// A missing or mistyped field, named.
pub fn read_response(answer: &Value) -> Result<HttpResponse, String> {
    let status = answer
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| format!("no numeric statusCode in {answer}"))?;
    let mut headers = Vec::new();
    let text = |value: &Value, field: &str| {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{field}: {value} is not a string"))
    };
    for field in ["headers", "multiValueHeaders"] {
        match answer.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, value) in map {
                    match value {
                        Value::Array(values) => {
                            for value in values {
                                headers.push((name.clone(), text(value, field)?));
                            }
                        }
                        value => headers.push((name.clone(), text(value, field)?)),
                    }
                }
            }
            Some(Value::Array(pairs)) => {
                for pair in pairs {
                    match pair.as_array().map(Vec::as_slice) {
                        Some([name, value]) => {
                            headers.push((text(name, field)?, text(value, field)?));
                        }
                        _ => return Err(format!("{field}: {pair} is not a [name, value] pair")),
                    }
                }
            }
            Some(other) => return Err(format!("{field}: {other} is not an object")),
        }
    }
    if let Some(Value::Array(cookies)) = answer.get("cookies") {
        for cookie in cookies {
            headers.push(("set-cookie".to_owned(), text(cookie, "cookies")?));
        }
    }
    let base64 = answer
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = match answer.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(body)) if base64 => crate::base64_decode(body)
            .ok_or_else(|| format!("body is not base64 ({} bytes)", body.len()))?,
        Some(Value::String(body)) => body.as_bytes().to_vec(),
        Some(other) => return Err(format!("body: {other} is not a string")),
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        let path = crate::workspace_dir()
            .join("shims/lambda/tests/data/aws-events")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    fn get(query: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            path: String::new(),
            query: query.into(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn the_client_prefix_is_the_stage_or_base_path_the_url_carries() {
        for (name, prefix) in [
            ("apigw_rest_stage_request.json", "/prod"),
            ("apigw_rest_custom_domain_request.json", "/v1"),
            ("apigw_v2_named_stage_request.json", "/prod"),
            ("apigw_v2_default_stage_request.json", ""),
            ("lambda_function_url_request.json", ""),
            ("alb_request.json", ""),
            ("vpc_lattice_v2_request_base64.json", ""),
        ] {
            let object = parse_sample(&sample(name)).unwrap();
            assert_eq!(client_prefix(&object), prefix, "{name}");
        }
    }

    #[test]
    fn each_shape_gets_the_query_as_its_front_door_passes_it() {
        let request = get("a=%7B1%7D&a=2&b=", &[]);
        let event = |name| http_event(&sample(name), "/p.S/M", &request).unwrap();

        let rest = event("apigw_rest_stage_request.json");
        assert_eq!(rest["queryStringParameters"], json!({"a": "2", "b": ""}));
        assert_eq!(
            rest["multiValueQueryStringParameters"],
            json!({"a": ["{1}", "2"], "b": [""]})
        );
        assert_eq!(rest["path"], json!("/p.S/M"));
        assert_eq!(rest["requestContext"]["path"], json!("/prod/p.S/M"));
        assert_eq!(rest["pathParameters"], json!({"proxy": "p.S/M"}));
        assert_eq!(rest["httpMethod"], json!("GET"));
        assert_eq!(rest["body"], Value::Null);

        let http = event("apigw_v2_named_stage_request.json");
        assert_eq!(http["rawQueryString"], json!("a=%7B1%7D&a=2&b="));
        assert_eq!(
            http["queryStringParameters"],
            json!({"a": "{1},2", "b": ""})
        );
        assert_eq!(http["rawPath"], json!("/prod/p.S/M"));
        assert_eq!(http["requestContext"]["http"]["method"], json!("GET"));
        assert!(http.get("body").is_none());

        let alb = event("alb_multi_value_request.json");
        assert_eq!(
            alb["multiValueQueryStringParameters"],
            json!({"a": ["%7B1%7D", "2"], "b": [""]})
        );
        assert!(alb.get("queryStringParameters").is_none());
        assert_eq!(
            event("alb_request.json")["queryStringParameters"],
            json!({"a": "2", "b": ""})
        );

        let lattice = event("vpc_lattice_v2_request_base64.json");
        assert_eq!(
            lattice["queryStringParameters"],
            json!({"a": ["{1}", "2"], "b": [""]})
        );
        assert_eq!(lattice["method"], json!("GET"));
    }

    #[test]
    fn each_shape_gets_the_clients_headers_and_body_in_its_form() {
        let mut request = get(
            "",
            &[
                ("Content-Type", "application/json"),
                ("X-A", "1"),
                ("X-A", "2"),
                ("Cookie", "c=1; d=2"),
            ],
        );
        request.method = "POST".into();
        request.body = br#"{"m":1}"#.to_vec();
        let event = |name| http_event(&sample(name), "/p.S/M", &request).unwrap();

        let rest = event("apigw_multi_value_proxy_request.json");
        assert_eq!(
            rest["headers"],
            json!({"Content-Type": "application/json", "X-A": "2", "Cookie": "c=1; d=2"})
        );
        assert_eq!(rest["multiValueHeaders"]["X-A"], json!(["1", "2"]));
        assert_eq!(rest["body"], json!("eyJtIjoxfQ=="));
        assert_eq!(rest["isBase64Encoded"], json!(true));

        let http = event("lambda_function_url_request.json");
        assert_eq!(
            http["headers"],
            json!({"content-type": "application/json", "x-a": "1,2"})
        );
        assert_eq!(http["cookies"], json!(["c=1", "d=2"]));
        assert_eq!(http["body"], json!(r#"{"m":1}"#));
        assert_eq!(http["isBase64Encoded"], json!(false));

        let alb = event("alb_multi_value_request.json");
        assert_eq!(alb["multiValueHeaders"]["x-a"], json!(["1", "2"]));
        assert!(
            alb.get("headers").is_none(),
            "multi-value headers only: {alb}"
        );

        let lattice = event("vpc_lattice_v2_request_base64.json");
        assert_eq!(lattice["headers"]["x-a"], json!(["1", "2"]));
    }

    #[test]
    fn answers_in_every_form_read_back_as_one_response() {
        let answer = json!({
            "statusCode": 200,
            "headers": {"a": "1"},
            "multiValueHeaders": {"b": ["2", "3"]},
            "cookies": ["c=1"],
            "body": "AAE=",
            "isBase64Encoded": true,
        });
        let response = read_response(&answer).unwrap();
        assert_eq!(response.status, 200);
        let headers: Vec<(&str, &str)> = response
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [("a", "1"), ("b", "2"), ("b", "3"), ("set-cookie", "c=1")]
        );
        assert_eq!(response.body, [0, 1]);

        let pairs = json!({"statusCode": 404, "headers": [["x", "y"]], "body": "no", "isBase64Encoded": false});
        let response = read_response(&pairs).unwrap();
        assert_eq!((response.status, response.header("X")), (404, Some("y")));
        assert_eq!(response.body, b"no");

        let err = read_response(&json!({"statusCode": 200, "body": "@@", "isBase64Encoded": true}))
            .unwrap_err();
        assert_eq!(err, "body is not base64 (2 bytes)");
        assert!(read_response(&json!({"body": ""}))
            .unwrap_err()
            .contains("statusCode"));
    }
}
