//! The data of one wasmtime `Store`: one per request (or job), dropped when it ends.

use crate::caps::Capabilities;
use crate::caps::outbound::OutboundHooks;
use crate::metrics::InstanceAlive;
use crate::sandbox::{CpuMeter, MemoryLimiter};
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct State {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub hooks: OutboundHooks,
    pub caps: Arc<Capabilities>,
    pub limits: MemoryLimiter,
    /// Time this instance has spent running wasm code (see `sandbox`).
    pub cpu: CpuMeter,
    /// Counts this instance in `orpipe_instances_alive` until the store is dropped.
    pub alive: InstanceAlive,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
