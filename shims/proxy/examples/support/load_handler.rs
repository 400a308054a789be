//! The one handler both load-test servers run.

/// `api.Prod/Alive`: `"Hello, world." + message`.
pub fn alive(message: &str) -> String {
    let mut reply = String::with_capacity(13 + message.len());
    reply.push_str("Hello, world.");
    reply.push_str(message);
    reply
}
