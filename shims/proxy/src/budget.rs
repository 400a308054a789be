//! The proxy-wide memory budget: request and response bytes held by calls in flight.
//!
//! A call reserves bytes as they arrive (request DATA as it is read, response chunks as the
//! target sends them) and gives them back when it lets go of them (its request once the target
//! answered, its response once the client took it or left). A reservation that would pass the
//! limit fails, and the call is answered `RESOURCE_EXHAUSTED`: many clients each holding a little
//! cannot add up to more memory than the limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::InvokeError;

/// The default [`Budget`] limit: 256 MiB. A request is at most `max_request_bytes` (4.5 MiB), so
/// about 56 calls at the largest size fit at once, and many more of usual size; with the copies
/// an invocation makes (the event's base64) it keeps the proxy within a 512 MiB container.
pub const DEFAULT_MAX_BYTES_IN_FLIGHT: usize = 256 * 1024 * 1024;

/// Bytes held, against a limit. Shared by every call of a proxy.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    in_use: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            in_use: AtomicUsize::new(0),
        })
    }

    /// The bytes reserved now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// An empty reservation, to grow as bytes arrive.
    pub fn reservation(self: &Arc<Budget>) -> Reservation {
        Reservation {
            budget: self.clone(),
            bytes: 0,
        }
    }
}

/// Bytes one call holds; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Reservation {
    /// Reserves `more` bytes.
    ///
    /// # Errors
    ///
    /// [`InvokeError::OverBudget`], naming the numbers, when the budget cannot hold them; the
    /// reservation keeps what it held.
    pub fn grow(&mut self, more: usize) -> Result<(), InvokeError> {
        let budget = &self.budget;
        let grown = budget
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                in_use.checked_add(more).filter(|&sum| sum <= budget.limit)
            });
        match grown {
            Ok(_) => {
                self.bytes += more;
                Ok(())
            }
            Err(in_use) => Err(InvokeError::OverBudget {
                requested: more,
                in_use,
                limit: budget.limit,
            }),
        }
    }

    /// Gives back up to `fewer` bytes (what the call no longer holds).
    pub fn shrink(&mut self, fewer: usize) {
        let fewer = fewer.min(self.bytes);
        self.bytes -= fewer;
        self.budget.in_use.fetch_sub(fewer, Ordering::AcqRel);
    }

    /// The bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.in_use.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_holds_its_bytes_until_dropped() {
        let budget = Budget::new(10);
        let mut call = budget.reservation();
        call.grow(6).unwrap();
        let mut other = budget.reservation();
        assert!(other.grow(5).is_err());
        drop(call);
        assert!(other.grow(5).is_ok());
    }

    #[test]
    fn reservations_add_up_to_the_limit_and_give_back_when_dropped() {
        let budget = Budget::new(100);
        let mut a = budget.reservation();
        let mut b = budget.reservation();
        a.grow(60).unwrap();
        b.grow(40).unwrap();
        assert_eq!(budget.in_use(), 100);
        let err = b.grow(1).unwrap_err();
        assert!(
            matches!(
                err,
                InvokeError::OverBudget {
                    requested: 1,
                    in_use: 100,
                    limit: 100
                }
            ),
            "{err}"
        );
        assert_eq!(b.bytes(), 40);
        b.shrink(10);
        assert_eq!((b.bytes(), budget.in_use()), (30, 90));
        b.shrink(1000);
        assert_eq!((b.bytes(), budget.in_use()), (0, 60));
        b.grow(40).unwrap();
        drop(a);
        assert_eq!(budget.in_use(), 40);
        b.grow(usize::MAX).unwrap_err();
        drop(b);
        assert_eq!(budget.in_use(), 0);
    }
}
