//! A component that exports `orpipe:gateway/sql` and answers every call with
//! `unavailable`. Composed with the gateway component (`wac plug`), it lets the gateway
//! run under hosts that provide no SQL, such as `wasmtime serve`.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        world: "sql-stub",
        path: "../../wit",
    });

    use exports::orpipe::gateway::sql::{Error, Guest, QueryResult, Statement, Value};

    const REASON: &str = "no SQL database in this host (sql-stub)";

    struct Stub;

    impl Guest for Stub {
        fn query(_statement: String, _params: Vec<Value>) -> Result<QueryResult, Error> {
            Err(Error::Unavailable(REASON.into()))
        }

        fn execute(_statement: String, _params: Vec<Value>) -> Result<u64, Error> {
            Err(Error::Unavailable(REASON.into()))
        }

        fn batch(_statements: Vec<Statement>) -> Result<Vec<u64>, Error> {
            Err(Error::Unavailable(REASON.into()))
        }

        // A real provider may run deferred statements at once instead of queueing them;
        // this one has no database at all, so they fail like every other call.
        fn defer(_statements: Vec<Statement>) -> Result<(), Error> {
            Err(Error::Unavailable(REASON.into()))
        }
    }

    export!(Stub);
}
