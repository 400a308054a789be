//! The floor of the cost lines: what any Rust Lambda function pays before it does anything, a
//! bare `lambda_runtime::run(service_fn(echo))` answering each event with the event itself.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(echo)).await
}
