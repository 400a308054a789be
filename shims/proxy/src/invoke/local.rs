//! The local target: a function run by [`grpc_lambda_local`] on loopback, started for
//! `--local-function` (or `[local]` in the file) and invoked through its Invoke API by the same
//! client as a function on AWS ([`super::lambda`]).

pub use grpc_lambda_local::LocalLambda;

use crate::config::LocalConfig;
use crate::error::StartError;

/// Starts the local Lambda service for the proxy's `local` settings.
///
/// # Errors
///
/// [`StartError::Local`] naming the port that could not be bound.
pub(crate) async fn start(config: &LocalConfig) -> Result<LocalLambda, StartError> {
    LocalLambda::start(config.clone())
        .await
        .map_err(|source| StartError::Local {
            source: Box::new(source),
        })
}
