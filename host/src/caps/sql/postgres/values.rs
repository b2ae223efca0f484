//! `sql` values to and from PostgreSQL, for the column types the guest's schema uses:
//! `BIGINT`, `DOUBLE PRECISION`, `TEXT` and `BYTEA` (guest/src/db.rs and the migrations
//! beside it). A statement whose placeholder or column has another type is an
//! `InvalidStatement` naming it; the guest can cast (`::bigint`, `::text`).
//!
//! Parameters are bound by the type PostgreSQL infers for the statement (`prepare`), so a
//! value that cannot become that type is refused here, with the placeholder's number,
//! rather than by the server.

use super::super::{SqlError, Value};
use tokio_postgres::Column;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// A parameter already converted to the type the statement expects.
#[derive(Debug)]
pub enum Bound {
    Null,
    I64(i64),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl ToSql for Bound {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Bound::Null => Ok(IsNull::Yes),
            Bound::I64(v) => v.to_sql(ty, out),
            Bound::F64(v) => v.to_sql(ty, out),
            Bound::Text(v) => v.to_sql(ty, out),
            Bound::Bytes(v) => v.to_sql(ty, out),
        }
    }

    // `bind` already chose the variant from the declared type.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

pub fn as_refs(bound: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect()
}

/// `params` converted to the statement's placeholder `types`.
pub fn bind(types: &[Type], params: &[Value]) -> Result<Vec<Bound>, SqlError> {
    if types.len() != params.len() {
        return Err(SqlError::InvalidStatement(format!(
            "the statement has {} placeholders but {} values were given",
            types.len(),
            params.len()
        )));
    }
    types
        .iter()
        .zip(params)
        .enumerate()
        .map(|(i, (ty, value))| {
            convert(ty, value).ok_or_else(|| {
                SqlError::InvalidStatement(format!(
                    "${} expects {ty} but was given {}",
                    i.saturating_add(1),
                    describe_value(value)
                ))
            })
        })
        .collect()
}

fn convert(ty: &Type, value: &Value) -> Option<Bound> {
    Some(match (value, ty) {
        (Value::Null, _) => Bound::Null,
        (Value::Integer(n), &Type::INT8) => Bound::I64(*n),
        (Value::Real(x), &Type::FLOAT8) => Bound::F64(*x),
        // UNKNOWN: a placeholder whose type the statement leaves open (`SELECT $1`).
        (Value::Text(s), &Type::TEXT | &Type::UNKNOWN) => Bound::Text(s.clone()),
        (Value::Blob(b), &Type::BYTEA) => Bound::Bytes(b.clone()),
        _ => return None,
    })
}

fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Integer(_) => "an integer",
        Value::Real(_) => "a real",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
    }
}

/// Column `i` of `row` as a `sql` value.
pub fn read(row: &tokio_postgres::Row, i: usize, column: &Column) -> Result<Value, SqlError> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        i: usize,
    ) -> Result<Option<T>, SqlError> {
        row.try_get(i).map_err(|e| SqlError::Other(e.to_string()))
    }
    let ty = column.type_();
    let value = match *ty {
        Type::INT8 => get::<i64>(row, i)?.map(Value::Integer),
        Type::FLOAT8 => get::<f64>(row, i)?.map(Value::Real),
        Type::TEXT | Type::UNKNOWN => get::<String>(row, i)?.map(Value::Text),
        Type::BYTEA => get::<Vec<u8>>(row, i)?.map(Value::Blob),
        _ => {
            return Err(SqlError::InvalidStatement(format!(
                "column {:?} has type {ty}, which the sql capability does not carry \
                 (it carries BIGINT, DOUBLE PRECISION, TEXT and BYTEA); cast it in the \
                 query (for example `::bigint` or `::text`)",
                column.name()
            )));
        }
    };
    Ok(value.unwrap_or(Value::Null))
}
