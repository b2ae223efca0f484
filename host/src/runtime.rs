//! wasmtime: the engine, the component compiled once, and one `Store` + instance per
//! request or job, created from a pre-instantiated `GatewayPre` (pooling allocator).
//! Every store gets the sandbox limits (`sandbox.rs`); every instance holds an admission
//! ticket (`admission.rs`).

use crate::admission::{Admission, Rejected, Ticket};
use crate::bindings::{Gateway, GatewayPre};
use crate::caps::Capabilities;
use crate::caps::logging::GuestStderr;
use crate::caps::outbound::OutboundHooks;
use crate::guest_body::{CutOnFailure, FailureFlag};
use crate::metrics::Metrics;
use crate::sandbox::{self, CpuMeter, GuestLimits, MemoryLimiter, TrapCause};
use crate::state::State;
use anyhow::Context;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimitsBuilder,
    UpdateDeadline,
};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

/// The guest built from `guest/` by build.rs.
pub const EMBEDDED_GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/orpipe_guest.wasm"));

pub struct Runtime {
    pre: GatewayPre<State>,
    caps: Arc<Capabilities>,
    /// Instances alive at once never exceed the pool's size: instantiating past it fails.
    admission: Arc<Admission>,
    limits: GuestLimits,
    metrics: Arc<Metrics>,
}

impl Runtime {
    pub fn new(
        component: &[u8],
        // Where the compiled component is cached between starts; `None`: not cached.
        compile_cache: Option<&std::path::Path>,
        caps: Arc<Capabilities>,
        admission: crate::admission::Limits,
        limits: GuestLimits,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config(admission.max_concurrent, limits))?;
        sandbox::start_epoch_ticker(&engine).context("starting the epoch thread")?;
        let component = crate::compile_cache::load_or_compile(&engine, component, compile_cache)
            .map_err(|e| context(e, "compiling the guest component"))?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        use crate::bindings::orpipe::gateway::sql;
        use crate::bindings::wasi::{config, keyvalue};
        keyvalue::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        keyvalue::atomics::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        keyvalue::batch::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        config::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        sql::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let pre = GatewayPre::new(linker.instantiate_pre(&component).map_err(|e| {
            context(
                e,
                "the component's imports do not match what this host provides",
            )
        })?)
        .map_err(|e| context(e, "the component does not export the orpipe gateway world"))?;
        Ok(Self {
            pre,
            caps,
            admission: Arc::new(Admission::new(admission)),
            limits,
            metrics,
        })
    }

    /// Waits (bounded) for a free instance slot for a request; see `admission.rs`.
    pub async fn admit(&self) -> Result<Ticket, Rejected> {
        let started = Instant::now();
        let admitted = self.admission.admit().await;
        self.metrics
            .observe_admission(started.elapsed(), admitted.as_ref().err().copied());
        admitted
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    pub fn new_store(&self, request_id: &str) -> Store<State> {
        let log = GuestStderr::new(request_id, self.metrics.clone());
        let wasi = WasiCtx::builder().stdout(log.clone()).stderr(log).build();
        let state = State {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                outbound: self.caps.outbound.clone(),
            },
            caps: self.caps.clone(),
            limits: MemoryLimiter::new(
                StoreLimitsBuilder::new()
                    .memory_size(self.limits.memory_bytes)
                    // A trap names the limit in the log; a failed grow would only show up
                    // as the guest's allocator aborting.
                    .trap_on_grow_failure(true)
                    .build(),
            ),
            cpu: CpuMeter::new(self.limits.cpu_budget),
            alive: self.metrics.instance_alive(),
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limits);
        store.call_hook(|mut store, hook| {
            store.data_mut().cpu.on_transition(hook, Instant::now());
            Ok(())
        });
        // Called at least once per epoch tick while wasm runs (see `sandbox.rs`).
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|store| {
            store
                .data()
                .cpu
                .check(Instant::now())
                .map_err(wasmtime::Error::new)?;
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    pub async fn instantiate(&self, store: &mut Store<State>) -> anyhow::Result<Gateway> {
        Ok(self.pre.instantiate_async(store).await?)
    }

    /// Runs one `jobs.run` call in a fresh instance.
    pub async fn run_job(&self, job: crate::jobs::Job) -> anyhow::Result<Result<String, String>> {
        let _ticket = self.admission.admit_job().await?;
        // Dropped before the ticket (reverse order), freeing its pool slot first.
        let mut store = self.new_store(&format!("job:{}", crate::jobs::name(job)));
        let ran: anyhow::Result<Result<String, String>> = async {
            let gateway = self.instantiate(&mut store).await?;
            Ok(gateway
                .orpipe_gateway_jobs()
                .call_run(&mut store, job)
                .await?)
        }
        .await;
        if ran.is_err() {
            count_trap(&self.metrics, &store);
        }
        ran
    }
}

/// Counts a guest that failed, under the cause its store's meters point to.
fn count_trap(metrics: &Metrics, store: &Store<State>) {
    let state = store.data();
    metrics.count_trap(TrapCause::of(&state.limits, &state.cpu, Instant::now()));
}

/// `wasmtime::Error` is not `anyhow::Error` (since wasmtime 48) and has no `.context`.
fn context(error: wasmtime::Error, what: &'static str) -> anyhow::Error {
    anyhow::Error::from(error).context(what)
}

fn engine_config(max_instances: usize, limits: GuestLimits) -> Config {
    let instances = u32::try_from(max_instances).unwrap_or(u32::MAX);
    let mut pool = PoolingAllocationConfig::default();
    // A Rust component has one main module plus a few small shim instances and tables.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(8))
        .max_memory_size(limits.memory_bytes);
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Loops and function entries check the epoch: see `sandbox.rs`.
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // For profiling only: /tmp/perf-<pid>.map lets `perf` name JIT-compiled guest
    // functions (see "Where the time goes" in docs/benchmarks.md).
    if std::env::var_os("ORPIPE_PROFILER").is_some_and(|v| v == "perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Why the guest produced no response head.
#[derive(Debug, thiserror::Error)]
pub enum GuestFailure {
    #[error("the guest failed before responding: {0:#}")]
    Trapped(anyhow::Error),
    #[error("the guest returned without responding")]
    NoResponse,
    #[error("the guest reported {0:?}")]
    ErrorCode(wasmtime_wasi_http::p2::bindings::http::types::ErrorCode),
}

impl Runtime {
    /// Hands one HTTP request to the guest's `incoming-handler` and returns its response
    /// head as soon as the guest sets it; the body keeps streaming from the guest task.
    pub async fn handle_http(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
        request_id: &str,
        ticket: Ticket,
    ) -> Result<hyper::Response<wasmtime_wasi_http::p2::body::HyperOutgoingBody>, GuestFailure>
    {
        use wasmtime_wasi_http::WasiHttpView;
        use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

        let mut store = self.new_store(request_id);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = (|| -> wasmtime::Result<_> {
            let mut http = store.data_mut().http();
            Ok((
                http.new_incoming_request(Scheme::Http, request)?,
                http.new_response_outparam(sender)?,
            ))
        })();
        let (incoming, outparam) = prepared.map_err(|e| GuestFailure::Trapped(e.into()))?;
        let pre = self.pre.clone();
        let metrics = self.metrics.clone();
        let request_id_owned = request_id.to_owned();
        let failed = FailureFlag::default();
        let failed_in_task = failed.clone();
        // The guest runs on its own task so it can keep writing the body after the head
        // has been returned to hyper.
        let task = tokio::spawn(async move {
            let _ticket = ticket;
            // Declared after the ticket so it is dropped first: the instance's pool slot
            // must be free before the ticket lets the next request instantiate.
            let mut store = store;
            let result: anyhow::Result<()> = async {
                let gateway = pre.instantiate_async(&mut store).await?;
                gateway
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await?;
                Ok(())
            }
            .await;
            if let Err(error) = &result {
                // Before the store (and the body's sender) is dropped: see `guest_body.rs`.
                failed_in_task.set();
                count_trap(&metrics, &store);
                tracing::error!(
                    request_id = request_id_owned,
                    error = format!("{error:#}"),
                    "guest failed"
                );
            }
            result
        });
        match receiver.await {
            Ok(Ok(response)) => {
                Ok(response.map(|body| CutOnFailure::new(body, failed).boxed_unsync()))
            }
            Ok(Err(code)) => Err(GuestFailure::ErrorCode(code)),
            // The outparam was dropped unset: the task's result says why.
            Err(_) => match task.await {
                Ok(Ok(())) => Err(GuestFailure::NoResponse),
                Ok(Err(error)) => Err(GuestFailure::Trapped(error)),
                Err(join) => Err(GuestFailure::Trapped(join.into())),
            },
        }
    }
}
