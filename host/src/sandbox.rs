//! Per-instance sandbox limits: a linear-memory cap and a budget of time spent running
//! guest code, enforced with epoch interruption.
//!
//! Epochs tick in wall time (a thread calls `Engine::increment_epoch` every [`EPOCH_TICK`]),
//! but a streaming guest spends nearly all its wall time blocked in host calls (reading the
//! upstream body, writing to the client), so "ticks since the request started" would stop
//! long answers. Instead the store's call hook measures the time between entering and
//! leaving wasm ([`CpuMeter`]); the epoch callback, which runs at least once per tick while
//! wasm code runs, traps once that time exceeds the budget and otherwise yields to the
//! executor, so a busy guest cannot hold a tokio worker thread for more than a tick.
//! Time spent in host calls (and yielded inside the epoch callback, itself a host call)
//! does not count; time the OS spends running other threads while wasm is on the stack does,
//! so the budget is generous.

use std::time::{Duration, Instant};
use wasmtime::{CallHook, Engine, ResourceLimiter, StoreLimits};

/// How often the engine's epoch advances: the granularity of both the CPU check and of
/// the yields that keep a busy guest from monopolising a worker thread.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to every guest instance, from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestLimits {
    /// Largest linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Time one instance may spend running wasm code.
    pub cpu_budget: Duration,
}

/// Why the sandbox stopped a guest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("the guest ran wasm code for {used_ms} ms, over its budget of {budget_ms} ms")]
    CpuBudgetExceeded { used_ms: u128, budget_ms: u128 },
}

/// Why the host stopped a guest instance (counted in `orpipe_guest_traps_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapCause {
    /// The instance ran wasm code past its CPU budget.
    CpuLimit,
    /// The instance tried to grow its memory past the cap.
    MemoryLimit,
    /// Any other trap or host error (a guest bug, an unreachable, a failed host call).
    Other,
}

impl TrapCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CpuLimit => "cpu_limit",
            Self::MemoryLimit => "memory_limit",
            Self::Other => "other",
        }
    }

    /// Why a store's instance failed, from what its meters saw.
    pub fn of(memory: &MemoryLimiter, cpu: &CpuMeter, now: Instant) -> Self {
        if memory.refused_growth() {
            Self::MemoryLimit
        } else if cpu.check(now).is_err() {
            Self::CpuLimit
        } else {
            Self::Other
        }
    }
}

/// The store's memory limits (wasmtime's `StoreLimits`), remembering whether a growth
/// was refused: a trap that follows one is the memory cap, not a guest bug.
pub struct MemoryLimiter {
    limits: StoreLimits,
    refused: bool,
}

impl MemoryLimiter {
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            limits,
            refused: false,
        }
    }

    pub fn refused_growth(&self) -> bool {
        self.refused
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum);
        if !matches!(allowed, Ok(true)) {
            self.refused = true;
        }
        allowed
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.refused = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Time spent running wasm code by one store, from its call hook's transitions.
#[derive(Debug, Clone)]
pub struct CpuMeter {
    budget: Duration,
    used: Duration,
    /// When wasm last (re)gained control; `None` while the host runs.
    running_since: Option<Instant>,
}

impl CpuMeter {
    pub fn new(budget: Duration) -> Self {
        Self {
            budget,
            used: Duration::ZERO,
            running_since: None,
        }
    }

    pub fn used(&self) -> Duration {
        self.used
    }

    /// Records a transition between host and wasm at `now`.
    pub fn on_transition(&mut self, hook: CallHook, now: Instant) {
        if hook.entering_host() {
            if let Some(since) = self.running_since.take() {
                self.used += now.saturating_duration_since(since);
            }
        } else if hook.exiting_host() {
            self.running_since = Some(now);
        }
    }

    /// Whether the budget still holds at `now`, counting the time wasm has been running.
    pub fn check(&self, now: Instant) -> Result<(), SandboxError> {
        let running = self
            .running_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        let used = self.used + running;
        if used > self.budget {
            return Err(SandboxError::CpuBudgetExceeded {
                used_ms: used.as_millis(),
                budget_ms: self.budget.as_millis(),
            });
        }
        Ok(())
    }
}

/// Advances `engine`'s epoch every [`EPOCH_TICK`] on a thread of its own (a guest spinning
/// on a tokio worker must not be able to stop its own clock), until the engine is dropped.
pub fn start_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("orpipe-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn only_time_between_entering_and_leaving_wasm_counts() {
        let start = Instant::now();
        let mut meter = CpuMeter::new(100 * MS);
        meter.on_transition(CallHook::CallingWasm, start);
        meter.on_transition(CallHook::CallingHost, start + 30 * MS);
        // A long wait in a host call (an upstream read) costs nothing.
        meter.on_transition(CallHook::ReturningFromHost, start + 10_000 * MS);
        meter.on_transition(CallHook::ReturningFromWasm, start + 10_050 * MS);
        assert_eq!(meter.used(), 80 * MS);
        meter
            .check(start + 20_000 * MS)
            .expect("within budget while the host runs");
    }

    #[test]
    fn a_guest_still_running_past_its_budget_is_stopped() {
        let start = Instant::now();
        let mut meter = CpuMeter::new(100 * MS);
        meter.on_transition(CallHook::CallingWasm, start);
        meter
            .check(start + 100 * MS)
            .expect("exactly at the budget");
        let error = meter.check(start + 101 * MS).expect_err("over budget");
        assert_eq!(
            error,
            SandboxError::CpuBudgetExceeded {
                used_ms: 101,
                budget_ms: 100
            }
        );
    }

    #[test]
    fn time_adds_up_across_calls() {
        let start = Instant::now();
        let mut meter = CpuMeter::new(100 * MS);
        for call in 0..3 {
            let at = start + call * 1_000 * MS;
            meter.on_transition(CallHook::CallingWasm, at);
            meter.on_transition(CallHook::ReturningFromWasm, at + 40 * MS);
        }
        assert_eq!(meter.used(), 120 * MS);
        assert!(meter.check(start + 5_000 * MS).is_err());
    }
}
