//! Keeping the threads of an invocation on chosen CPUs.
//!
//! On a machine shared with other work, where the scheduler puts each function's thread decides
//! its speed for seconds at a time (one function's thread shares a core with a busy neighbour,
//! another's does not), and the ratio swings by 2× from one run to the next. So the functions
//! and the caller running their local Lambda all stay on one CPU: whatever else runs there slows
//! all of them alike, and each hand-over is a switch on that CPU rather than a wake-up across
//! CPUs (which, with the functions on one CPU and the caller on another, made every invocation
//! ~250 µs slower and no steadier). One CPU is also what a Lambda function of up to 1,769 MB
//! has. A function process started from a pinned thread inherits its CPU.

/// The CPUs this thread may run on, restored when dropped.
pub struct Pinned {
    #[cfg(target_os = "linux")]
    before: Option<libc::cpu_set_t>,
}

impl Pinned {
    /// Keeps the calling thread on `cpu` (nothing when `None`, or off Linux).
    pub fn current_thread(cpu: Option<usize>) -> Self {
        #[cfg(target_os = "linux")]
        {
            let before = cpu.and_then(|cpu| {
                let before = allowed()?;
                set(&one(cpu)).then_some(before)
            });
            Self { before }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = cpu;
            Self {}
        }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(before) = &self.before {
            set(before);
        }
    }
}

/// The lowest-numbered CPU this thread may run on.
pub fn first() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let allowed = allowed()?;
        // SAFETY: `CPU_ISSET` reads the set, which is initialized, at an index below
        // `CPU_SETSIZE`, its size.
        (0..libc::CPU_SETSIZE as usize).find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &allowed) })
    }
    #[cfg(not(target_os = "linux"))]
    None
}

#[cfg(target_os = "linux")]
fn allowed() -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero `cpu_set_t` is a valid, empty set; `sched_getaffinity` writes at
    // most `size_of::<cpu_set_t>()` bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
            .then_some(set)
    }
}

#[cfg(target_os = "linux")]
fn one(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: an all-zero `cpu_set_t` is a valid, empty set; `CPU_SET` checks the index
    // against the set's size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        set
    }
}

#[cfg(target_os = "linux")]
fn set(cpus: &libc::cpu_set_t) -> bool {
    // SAFETY: `sched_setaffinity` reads `size_of::<cpu_set_t>()` bytes of an initialized set.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), cpus) == 0 }
}
