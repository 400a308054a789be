//! Build-time code generation for `grpc-lambda`: every method of a tonic service as a route.
//!
//! Beside tonic's server, each service gets a module `<service>_lambda` whose `router` serves an
//! implementation of the service's trait from AWS Lambda. The unary and server-streaming
//! methods are [routes](https://docs.rs/grpc-lambda/latest/grpc_lambda/struct.Router.html) that
//! call the trait directly, without tonic's HTTP-level server; every other method (client and
//! bidirectional streaming) goes to tonic's generated server, the router's fallback. The routes
//! skip the work of putting each answer into an HTTP body and reading it back, and with it any
//! `tower` layer around the server; what the service answers reaches the client as the server
//! would send it (`grpc-lambda`'s README lists the few requests the two refuse differently).
//!
//! In `build.rs` (the crate then depends on `grpc-lambda` with its `tonic` feature):
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! # let descriptors = tonic_prost_build::FileDescriptorSet::default();
//! // `descriptors`: the compiled `.proto` files, e.g. from `protox::compile`.
//! let tonic = tonic_prost_build::configure().build_client(false).build_transport(false);
//! grpc_lambda_build::compile_fds(tonic, descriptors)?;
//! # Ok(())
//! # }
//! ```
//!
//! and in the function, for `service Prod` in `package api` (the example function in
//! `shims/lambda/examples/prod` does exactly this):
//!
//! ```text
//! pub mod api {
//!     tonic::include_proto!("api");
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
//!     grpc_lambda::run(api::prod_lambda::router(MyProd)).await
//! }
//! ```
//!
//! The code a service gets, for `Prod` with a unary `Alive` and a client-streaming `Upload`:
//!
//! ```
//! use grpc_lambda_build::RouterGenerator;
//! use prost_build::{Comments, Method, Service, ServiceGenerator};
//!
//! let method = |name: &str, proto_name: &str, client_streaming| Method {
//!     name: name.into(),
//!     proto_name: proto_name.into(),
//!     comments: Comments::default(),
//!     input_type: "AliveRequest".into(),
//!     output_type: "AliveResponse".into(),
//!     input_proto_type: ".api.AliveRequest".into(),
//!     output_proto_type: ".api.AliveResponse".into(),
//!     options: Default::default(),
//!     client_streaming,
//!     server_streaming: false,
//! };
//! let service = Service {
//!     name: "Prod".into(),
//!     proto_name: "Prod".into(),
//!     package: "api".into(),
//!     comments: Comments::default(),
//!     methods: vec![method("alive", "Alive", false), method("upload", "Upload", true)],
//!     options: Default::default(),
//! };
//! let mut code = String::new();
//! RouterGenerator::new().generate(service, &mut code);
//! assert!(code.contains("pub mod prod_lambda {"));
//! assert!(code.contains(r#".tonic_unary("/api.Prod/Alive", "#));
//! assert!(code.contains("<T as super::prod_server::Prod>::alive(&*service, request)"));
//! assert!(!code.contains("Upload"), "client streaming goes to the fallback");
//! assert!(code.contains("router_with_fallback(service, super::prod_server::ProdServer::from_arc(server))"));
//! ```
#![deny(missing_docs)]

use std::fmt::Write as _;
use std::io;

use prost_build::{Method, Service, ServiceGenerator};

/// Compiles `descriptors` as `tonic` (a `tonic_prost_build` builder, with its server on) would,
/// and adds each service's `<service>_lambda` module: [`RouterGenerator::new`]'s
/// [`compile_fds`](RouterGenerator::compile_fds).
///
/// # Errors
///
/// What `tonic_prost_build` reports: an unwritable output directory, descriptors it cannot
/// compile.
pub fn compile_fds(
    tonic: tonic_prost_build::Builder,
    descriptors: tonic_prost_build::FileDescriptorSet,
) -> io::Result<()> {
    RouterGenerator::new().compile_fds(tonic, descriptors)
}

/// A `prost_build` service generator that writes grpc-lambda routes beside another generator's
/// code (tonic's server), in the same module; every call is passed on to that generator.
///
/// For each service it writes `pub mod <service>_lambda` with:
/// - `router<T: Trait>(service: T) -> grpc_lambda::Router`;
/// - `router_from_arc<T: Trait>(service: Arc<T>) -> grpc_lambda::Router`, for a service already
///   shared;
/// - `router_with_fallback<T: Trait, H: grpc_lambda::Handler>(service: Arc<T>, fallback: H)`, for
///   a fallback other than tonic's server with its defaults: the same server configured
///   (`accept_compressed`, message sizes), or any handler.
///
/// The routes follow the shim's settings (`Shim::max_message_len` for requests, its `gzip`
/// feature for compressed request messages), the fallback its own.
pub struct RouterGenerator {
    inner: Option<Box<dyn ServiceGenerator>>,
    use_arc_self: bool,
    module_attributes: Vec<String>,
}

impl Default for RouterGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl RouterGenerator {
    /// Routes alone, with tonic's defaults (`&self` methods); [`wrapping`](Self::wrapping) and
    /// [`compile_fds`](Self::compile_fds) put tonic's server beside them.
    pub fn new() -> Self {
        Self {
            inner: None,
            use_arc_self: false,
            module_attributes: Vec::new(),
        }
    }

    /// Passes every call on to `inner` (tonic's service generator) too.
    #[must_use]
    pub fn wrapping(mut self, inner: Box<dyn ServiceGenerator>) -> Self {
        self.inner = Some(inner);
        self
    }

    /// Whether the trait's methods take `self: Arc<Self>`: set it as tonic's builder sets its
    /// `use_arc_self` (off by default, as in tonic).
    #[must_use]
    pub fn use_arc_self(mut self, enable: bool) -> Self {
        self.use_arc_self = enable;
        self
    }

    /// An attribute on every `<service>_lambda` module, written as it appears in code: the
    /// `#[cfg(...)]` of a server that tonic's builder puts behind a feature
    /// (`server_mod_attribute`), for one.
    #[must_use]
    pub fn module_attribute(mut self, attribute: impl Into<String>) -> Self {
        self.module_attributes.push(attribute.into());
        self
    }

    /// Compiles `descriptors` as `tonic` (a `tonic_prost_build` builder, with its server on)
    /// would, with these routes beside its server. The builder's other settings (output
    /// directory, attributes, extern paths) apply as they would without the routes.
    ///
    /// # Errors
    ///
    /// What `tonic_prost_build` reports: an unwritable output directory, descriptors it cannot
    /// compile.
    pub fn compile_fds(
        self,
        tonic: tonic_prost_build::Builder,
        descriptors: tonic_prost_build::FileDescriptorSet,
    ) -> io::Result<()> {
        let generator = self.wrapping(tonic.clone().service_generator());
        let mut config = tonic_prost_build::Config::new();
        config.service_generator(Box::new(generator));
        // With neither client nor server to build, tonic keeps the generator set here, which
        // builds its server through `generator`; the builder's other settings still apply.
        tonic
            .build_client(false)
            .build_server(false)
            .compile_fds_with_config(descriptors, config)
    }

    fn routes(&self, service: &Service) -> String {
        let snake = snake_case(&service.name);
        let server_mod = format!("super::{snake}_server");
        let trait_path = format!("{server_mod}::{}", service.name);
        // tonic's generator always puts the package in the path (tonic-prost-build 0.14 does
        // not pass its builder's `emit_package` on).
        let service_name = if service.package.is_empty() {
            service.proto_name.clone()
        } else {
            format!("{}.{}", service.package, service.proto_name)
        };
        let receiver = if self.use_arc_self {
            "service"
        } else {
            "&*service"
        };
        let attributes: String = self
            .module_attributes
            .iter()
            .map(|attribute| format!("{attribute}\n"))
            .collect();
        let mut code = String::new();
        // Writing to a `String` cannot fail.
        let _ = write!(
            code,
            r#"
/// `{service_name}` served from AWS Lambda by grpc-lambda (generated by grpc-lambda-build).
{attributes}pub mod {snake}_lambda {{
    /// A router that serves `service`: unary and server-streaming methods call it directly,
    /// the others go through tonic's generated server.
    pub fn router<T: {trait_path}>(service: T) -> grpc_lambda::Router {{
        router_from_arc(::std::sync::Arc::new(service))
    }}

    /// [`router`] for a service already in an `Arc`.
    pub fn router_from_arc<T: {trait_path}>(
        service: ::std::sync::Arc<T>,
    ) -> grpc_lambda::Router {{
        let server = ::std::sync::Arc::clone(&service);
        router_with_fallback(service, {server_mod}::{name}Server::from_arc(server))
    }}

    /// The routes of [`router`], with `fallback` for every other method: tonic's server for
    /// the same service, configured, or any handler.
    pub fn router_with_fallback<T: {trait_path}, H: grpc_lambda::Handler>(
        service: ::std::sync::Arc<T>,
        fallback: H,
    ) -> grpc_lambda::Router {{
        let router = grpc_lambda::Router::new();
"#,
            name = service.name,
        );
        for method in &service.methods {
            let Some(route) = route_method(method) else {
                continue;
            };
            let _ = write!(
                code,
                r#"        let served = ::std::sync::Arc::clone(&service);
        let router = router.{route}("/{service_name}/{proto_name}", move |request| {{
            let service = ::std::sync::Arc::clone(&served);
            async move {{ <T as {trait_path}>::{name}({receiver}, request).await }}
        }});
"#,
                proto_name = method.proto_name,
                name = method.name,
            );
        }
        code.push_str(
            r#"        // Unused when every method is client- or bidirectional-streaming.
        let _ = service;
        router.fallback(fallback)
    }
}
"#,
        );
        code
    }
}

impl std::fmt::Debug for RouterGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterGenerator")
            .field("inner", &self.inner.is_some())
            .field("use_arc_self", &self.use_arc_self)
            .field("module_attributes", &self.module_attributes)
            .finish()
    }
}

impl ServiceGenerator for RouterGenerator {
    fn generate(&mut self, service: Service, buf: &mut String) {
        let routes = self.routes(&service);
        if let Some(inner) = self.inner.as_mut() {
            inner.generate(service, buf);
        }
        buf.push_str(&routes);
    }

    fn finalize(&mut self, buf: &mut String) {
        if let Some(inner) = self.inner.as_mut() {
            inner.finalize(buf);
        }
    }

    fn finalize_package(&mut self, package: &str, buf: &mut String) {
        if let Some(inner) = self.inner.as_mut() {
            inner.finalize_package(package, buf);
        }
    }
}

/// The router method that serves `method`, if a route can: a Lambda request holds one message
/// for these; the others are left to the fallback.
fn route_method(method: &Method) -> Option<&'static str> {
    match (method.client_streaming, method.server_streaming) {
        (false, false) => Some("tonic_unary"),
        (false, true) => Some("tonic_server_streaming"),
        (true, _) => None,
    }
}

/// A service name as tonic spells its modules: lowercase, `_` before each capital after the
/// first letter (`ProdV2` is `prod_v2`, `HTTPProxy` is `h_t_t_p_proxy`).
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c.to_ascii_lowercase());
        if chars.peek().is_some_and(|next| next.is_uppercase()) {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_build::Comments;

    fn method(name: &str, client_streaming: bool, server_streaming: bool) -> Method {
        Method {
            name: name.to_ascii_lowercase(),
            proto_name: name.into(),
            comments: Comments::default(),
            input_type: "In".into(),
            output_type: "Out".into(),
            input_proto_type: ".p.In".into(),
            output_proto_type: ".p.Out".into(),
            options: prost_types::MethodOptions::default(),
            client_streaming,
            server_streaming,
        }
    }

    fn service(package: &str) -> Service {
        Service {
            name: "EchoV2".into(),
            proto_name: "EchoV2".into(),
            package: package.into(),
            comments: Comments::default(),
            methods: vec![
                method("Unary", false, false),
                method("Down", false, true),
                method("Up", true, false),
                method("Both", true, true),
            ],
            options: prost_types::ServiceOptions::default(),
        }
    }

    #[test]
    fn module_names_follow_tonic() {
        assert_eq!(snake_case("Prod"), "prod");
        assert_eq!(snake_case("EchoV2"), "echo_v2");
        assert_eq!(snake_case("HTTPProxy"), "h_t_t_p_proxy");
        assert_eq!(snake_case("TestService"), "test_service");
    }

    #[test]
    fn routes_every_unary_and_server_streaming_method_and_falls_back_for_the_rest() {
        let code = RouterGenerator::new().routes(&service("p.v1"));
        assert!(code.contains("pub mod echo_v2_lambda {"), "{code}");
        assert!(code.contains(r#"router.tonic_unary("/p.v1.EchoV2/Unary", "#));
        assert!(code.contains(r#"router.tonic_server_streaming("/p.v1.EchoV2/Down", "#));
        assert!(code.contains("<T as super::echo_v2_server::EchoV2>::unary(&*service, request)"));
        assert!(!code.contains("/Up\""), "{code}");
        assert!(!code.contains("/Both\""), "{code}");
        assert!(code.contains(
            "router_with_fallback(service, super::echo_v2_server::EchoV2Server::from_arc(server))"
        ));
        assert!(code.contains("router.fallback(fallback)"), "{code}");
    }

    #[test]
    fn the_receiver_and_the_attributes_follow_the_settings() {
        let code = RouterGenerator::new()
            .use_arc_self(true)
            .module_attribute(r#"#[cfg(feature = "lambda")]"#)
            .routes(&service("p.v1"));
        assert!(code.contains("::unary(service, request)"), "{code}");
        assert!(
            code.contains("#[cfg(feature = \"lambda\")]\npub mod echo_v2_lambda {"),
            "{code}"
        );
        // No package: the service's name alone.
        let code = RouterGenerator::new().routes(&service(""));
        assert!(code.contains(r#"("/EchoV2/Unary", "#), "{code}");
    }

    #[test]
    fn a_keyword_method_is_called_by_its_raw_name() {
        let mut keyword = service("p");
        keyword.methods = vec![method("Type", false, false)];
        keyword.methods[0].name = "r#type".into();
        let code = RouterGenerator::new().routes(&keyword);
        assert!(code.contains(r#"("/p.EchoV2/Type", "#), "{code}");
        assert!(code.contains("::r#type(&*service, request)"), "{code}");
    }

    #[test]
    fn every_call_reaches_the_inner_generator() {
        struct Marker;
        impl ServiceGenerator for Marker {
            fn generate(&mut self, service: Service, buf: &mut String) {
                buf.push_str(&format!("// server for {}\n", service.name));
            }
            fn finalize(&mut self, buf: &mut String) {
                buf.push_str("// finalized\n");
            }
            fn finalize_package(&mut self, package: &str, buf: &mut String) {
                buf.push_str(&format!("// package {package}\n"));
            }
        }
        let mut generator = RouterGenerator::new().wrapping(Box::new(Marker));
        let mut buf = String::new();
        generator.generate(service("p"), &mut buf);
        generator.finalize(&mut buf);
        generator.finalize_package("p", &mut buf);
        assert!(buf.starts_with("// server for EchoV2\n"), "{buf}");
        assert!(buf.ends_with("}\n// finalized\n// package p\n"), "{buf}");
    }
}
