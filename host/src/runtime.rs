//! wasmtime: the engine, the active build of the guest (`guest_component.rs`, swapped by a
//! reload), and one `Store` + instance per request or job, created from that build's
//! pre-instantiated `GatewayPre` (pooling allocator).
//! Every store gets the sandbox limits (`sandbox.rs`); every instance holds an admission
//! ticket (`admission.rs`).

use crate::admission::{Admission, Rejected, Ticket};
use crate::bindings::Gateway;
use crate::caps::Capabilities;
use crate::caps::logging::GuestStderr;
use crate::caps::outbound::OutboundHooks;
use crate::guest_body::{CutOnFailure, FailureFlag};
use crate::guest_component::{ComponentHash, GUEST_HEADER, GuestComponent, PrepareError};
use crate::metrics::Metrics;
use crate::sandbox::{self, CpuMeter, GuestLimits, MemoryLimiter, TrapCause};
use crate::state::State;
use anyhow::Context;
use arc_swap::ArcSwap;
use http_body_util::BodyExt;
use std::path::{Path, PathBuf};
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
    engine: Engine,
    /// The host's imports, shared by every build of the guest (see `reload.rs`).
    linker: Arc<Linker<State>>,
    /// Where compiled components are cached between starts; `None`: not cached.
    compile_cache: Option<PathBuf>,
    /// The build new requests and jobs instantiate; swapped whole by a reload while the
    /// instances of the previous one finish.
    guest: ArcSwap<GuestComponent>,
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
        compile_cache: Option<&Path>,
        caps: Arc<Capabilities>,
        admission: crate::admission::Limits,
        limits: GuestLimits,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config(admission.max_concurrent, limits))?;
        sandbox::start_epoch_ticker(&engine).context("starting the epoch thread")?;
        let linker = host_linker(&engine)?;
        let hash = ComponentHash::of(component);
        let guest = GuestComponent::prepare(&engine, &linker, component, hash, compile_cache)?;
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            compile_cache: compile_cache.map(Path::to_owned),
            guest: ArcSwap::from_pointee(guest),
            caps,
            admission: Arc::new(Admission::new(admission)),
            limits,
            metrics,
        })
    }

    /// The build new requests use now.
    pub fn guest(&self) -> Arc<GuestComponent> {
        self.guest.load_full()
    }

    /// Makes `next` the build of every later request and job; returns the one it replaces
    /// (its instances still running keep it alive until they end).
    pub fn swap_guest(&self, next: Arc<GuestComponent>) -> Arc<GuestComponent> {
        self.guest.swap(next)
    }

    /// What preparing another build needs: the engine, the linker and the cache directory.
    /// Owned, so a blocking thread can prepare it.
    pub fn builder(&self) -> GuestBuilder {
        GuestBuilder {
            engine: self.engine.clone(),
            linker: self.linker.clone(),
            compile_cache: self.compile_cache.clone(),
        }
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
        let mut store = Store::new(&self.engine, state);
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

    /// Runs one `jobs.run` call in a fresh instance of the active build.
    pub async fn run_job(&self, job: crate::jobs::Job) -> anyhow::Result<Result<String, String>> {
        self.run_job_on(&self.guest(), job).await
    }

    /// Runs one `jobs.run` call in a fresh instance of `guest` (a reload tries a build this
    /// way before making it active).
    pub async fn run_job_on(
        &self,
        guest: &GuestComponent,
        job: crate::jobs::Job,
    ) -> anyhow::Result<Result<String, String>> {
        let _ticket = self.admission.admit_job().await?;
        // Dropped before the ticket (reverse order), freeing its pool slot first.
        let mut store = self.new_store(&format!("job:{}", crate::jobs::name(job)));
        let ran: anyhow::Result<Result<String, String>> = async {
            let gateway: Gateway = guest.pre.instantiate_async(&mut store).await?;
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

/// Prepares a build of the guest off the runtime (see [`Runtime::builder`]).
pub struct GuestBuilder {
    engine: Engine,
    linker: Arc<Linker<State>>,
    compile_cache: Option<PathBuf>,
}

impl GuestBuilder {
    /// Compiles and links `component` (of hash `hash`); blocks while cranelift runs.
    pub fn prepare(
        &self,
        component: &[u8],
        hash: ComponentHash,
    ) -> Result<GuestComponent, PrepareError> {
        GuestComponent::prepare(
            &self.engine,
            &self.linker,
            component,
            hash,
            self.compile_cache.as_deref(),
        )
    }
}

/// Every import the guest may use: WASI, `wasi:http`, key-value, config and SQL.
fn host_linker(engine: &Engine) -> anyhow::Result<Linker<State>> {
    use crate::bindings::orpipe::gateway::sql;
    use crate::bindings::wasi::{config, keyvalue};
    let mut linker = Linker::<State>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    keyvalue::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    keyvalue::atomics::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    keyvalue::batch::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    config::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    sql::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// Bytes of each instance's linear memory reset in place instead of decommitted when
/// the instance ends (see `engine_config`): about what one request's guest touches.
const KEEP_RESIDENT: usize = 2 << 20;
/// The same for tables (a few KiB for this guest).
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

fn engine_config(max_instances: usize, limits: GuestLimits) -> Config {
    let instances = u32::try_from(max_instances).unwrap_or(u32::MAX);
    let mut pool = PoolingAllocationConfig::default();
    // A Rust component has one main module plus a few small shim instances and tables.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(8))
        // Every instance runs its calls on a fiber with a stack of its own; wasmtime's
        // default of 1,000 stacks would cap open streams at 1,000 whatever the pool's size.
        .total_stacks(instances)
        .max_memory_size(limits.memory_bytes)
        // Returning a slot to the pool resets what the guest touched. By default that is an
        // `madvise` of the whole memory: TLB-shootdown IPIs now and a page fault per page the
        // next request touches again. Instead the pages dirtied within the first
        // KEEP_RESIDENT bytes are reset in place (found with Linux's PAGEMAP_SCAN where the
        // kernel has it, ≥ 6.7) and stay mapped; only what lies beyond is `madvise`d.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto)
        // Reuse the slots used before (least recently first) rather than fresh ones, so the
        // pages kept resident are those of as many slots as ever ran at once, not of the
        // whole pool.
        .max_unused_warm_slots(0);
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
        // Read once: the whole request runs on this build, whatever a reload does meanwhile.
        let guest = self.guest();
        let guest_header = guest.hash.header().clone();
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
                let gateway = guest.pre.instantiate_async(&mut store).await?;
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
            Ok(Ok(mut response)) => {
                response.headers_mut().insert(GUEST_HEADER, guest_header);
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
