//! The time a call may take: the client's `grpc-timeout`, bounded by what is left of the Lambda
//! invocation less a safety margin, so that a late handler still answers `DEADLINE_EXCEEDED`
//! before Lambda stops the process.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `grpc-timeout` header's name, made when the crate is compiled (`from_static` checks the
/// name at run time, and a `&str` key is parsed on every lookup).
pub(crate) const GRPC_TIMEOUT: http::HeaderName =
    http::HeaderName::from_static(grpc_lambda_core::metadata::GRPC_TIMEOUT);

/// The default time kept back from the Lambda deadline to frame, encode and post the answer.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_millis(50);

/// The smallest `Lambda-Runtime-Deadline-Ms` read as a timestamp (September 2001); below it, the
/// value is read as a duration.
pub const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;

/// Which limit decided a call's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineCause {
    /// The client's `grpc-timeout`.
    GrpcTimeout(Duration),
    /// The time left in the Lambda invocation, less the safety margin.
    LambdaTimeLeft {
        /// Time left when the call started.
        left: Duration,
        /// The safety margin kept back.
        margin: Duration,
    },
}

/// How long a call may run, and why.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use grpc_lambda::deadline::{Deadline, DeadlineCause};
///
/// let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
/// let lambda_deadline_ms = 1_700_000_000_000 + 3_000; // 3 s left
/// let margin = Duration::from_millis(50);
///
/// let d = Deadline::compute(Some(Duration::from_secs(10)), lambda_deadline_ms, now, margin).unwrap();
/// assert_eq!(d.budget, Duration::from_millis(2_950));
/// assert!(matches!(d.cause, DeadlineCause::LambdaTimeLeft { .. }));
///
/// let d = Deadline::compute(Some(Duration::from_millis(100)), lambda_deadline_ms, now, margin).unwrap();
/// assert_eq!(d.cause, DeadlineCause::GrpcTimeout(Duration::from_millis(100)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The time the call may take from its start.
    pub budget: Duration,
    /// The limit that set it.
    pub cause: DeadlineCause,
}

impl Deadline {
    /// `min(grpc_timeout, lambda time left − margin)`; `None` when neither applies (no
    /// `grpc-timeout` and no Lambda deadline, `lambda_deadline_ms == 0`, as in tests).
    ///
    /// `lambda_deadline_ms` is Lambda's `Lambda-Runtime-Deadline-Ms`, milliseconds since the Unix
    /// epoch. A value below [`PLAUSIBLE_EPOCH_MS`] cannot be one: local emulators
    /// (`cargo lambda watch` sends `600000`) put the function timeout there, and it is read as
    /// the time left.
    pub fn compute(
        grpc_timeout: Option<Duration>,
        lambda_deadline_ms: u64,
        now: SystemTime,
        margin: Duration,
    ) -> Option<Deadline> {
        let lambda = (lambda_deadline_ms != 0).then(|| {
            let left = if lambda_deadline_ms < PLAUSIBLE_EPOCH_MS {
                Duration::from_millis(lambda_deadline_ms)
            } else {
                let deadline = UNIX_EPOCH + Duration::from_millis(lambda_deadline_ms);
                deadline.duration_since(now).unwrap_or(Duration::ZERO)
            };
            Deadline {
                budget: left.saturating_sub(margin),
                cause: DeadlineCause::LambdaTimeLeft { left, margin },
            }
        });
        let client = grpc_timeout.map(|timeout| Deadline {
            budget: timeout,
            cause: DeadlineCause::GrpcTimeout(timeout),
        });
        match (client, lambda) {
            (Some(client), Some(lambda)) if lambda.budget < client.budget => Some(lambda),
            (Some(client), _) => Some(client),
            (None, lambda) => lambda,
        }
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause {
            DeadlineCause::GrpcTimeout(timeout) => write!(
                f,
                "deadline exceeded: the call did not finish within the client's timeout (grpc-timeout or connect-timeout-ms) of {}",
                human_duration(timeout)
            ),
            DeadlineCause::LambdaTimeLeft { left, margin } => write!(
                f,
                "deadline exceeded: the Lambda invocation had {} left; the call was stopped {} before \
                 the function's timeout so that this answer could still be sent",
                human_duration(left),
                human_duration(margin)
            ),
        }
    }
}

/// `time` in the unit that reads best in a message: `250ms`, `3.5s`.
pub(crate) fn human_duration(time: Duration) -> String {
    if time < Duration::from_secs(1) {
        format!("{}ms", time.as_millis())
    } else {
        format!("{:.3}s", time.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARGIN: Duration = Duration::from_millis(50);
    /// November 2023, in milliseconds since the epoch.
    const T: u64 = 1_700_000_000_000;

    #[test]
    fn neither_limit_means_no_deadline() {
        assert_eq!(Deadline::compute(None, 0, SystemTime::now(), MARGIN), None);
    }

    #[test]
    fn lambda_time_left_is_less_the_margin() {
        let now = UNIX_EPOCH + Duration::from_millis(T + 10_000);
        let d = Deadline::compute(None, T + 10_500, now, MARGIN).unwrap();
        assert_eq!(d.budget, Duration::from_millis(450));
        // Already past the deadline: no time at all, never a panic.
        let d = Deadline::compute(None, T + 9_000, now, MARGIN).unwrap();
        assert_eq!(d.budget, Duration::ZERO);
    }

    #[test]
    fn an_emulators_relative_deadline_is_time_left() {
        let d = Deadline::compute(None, 600_000, SystemTime::now(), MARGIN).unwrap();
        assert_eq!(d.budget, Duration::from_millis(599_950));
    }

    #[test]
    fn the_shorter_limit_wins() {
        let now = UNIX_EPOCH + Duration::from_millis(T + 10_000);
        let d =
            Deadline::compute(Some(Duration::from_millis(200)), T + 10_500, now, MARGIN).unwrap();
        assert_eq!(
            d.cause,
            DeadlineCause::GrpcTimeout(Duration::from_millis(200))
        );
        let d = Deadline::compute(Some(Duration::from_secs(5)), T + 10_500, now, MARGIN).unwrap();
        assert_eq!(d.budget, Duration::from_millis(450));
        assert!(d.to_string().contains("had 500ms left"), "{d}");
    }
}
