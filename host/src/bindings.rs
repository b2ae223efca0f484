//! The one `bindgen!` of the host: the `gateway` world of `wit/`, with the standard WASI
//! packages taken from wasmtime-wasi and wasmtime-wasi-http, and `wasi:keyvalue`,
//! `wasi:config` and `sql` generated here so orpipe's own backends can serve them.

wasmtime::component::bindgen!({
    world: "orpipe:gateway/gateway",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
    require_store_data_send: true,
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "wasi:cli": wasmtime_wasi::p2::bindings::cli,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:keyvalue/store.bucket": crate::caps::keyvalue::Bucket,
    },
});
