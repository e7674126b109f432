//! Liberal reading: Parquet as pandas and pyarrow write it by default,
//! normalized to schema v1's types before the rules see it.
//!
//! Accepted besides the canonical types, per column kind:
//! - integers: any signed or unsigned integer type; floats whose every
//!   value is a whole number (pandas writes an integer column with a
//!   missing value as float64); all-null columns typed `null`;
//! - floats: float32/float64 and any integer type;
//! - strings: utf8, large utf8, string views, and dictionary-encoded strings;
//! - timestamps: seconds, milliseconds, microseconds or nanoseconds, with no
//!   time zone or a UTC one (a naive pandas timestamp is taken as UTC); and
//!   ISO-8601 strings as the original miners wrote them
//!   (`datetime.isoformat()`: `2025-10-01T12:00:00.123456`, naive taken as
//!   UTC, or with `Z` / `+05:30`; a space instead of `T` too).
//!
//! Types are named in errors as pyarrow and pandas users see them
//! (`large_string`, `string_view`, `double`, `timestamp[us]`), never in
//! arrow-rs's spelling (`LargeUtf8`, `Utf8View`).
//!
//! A value that does not fit (an int64 over int32's range, a fractional
//! bedroom count) is refused with the column and row. resi itself always
//! writes the canonical form.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{
    new_null_array, Array, ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::error::SchemaError;

/// The target of a column's normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Utf8,
    Int32,
    Int64,
    Float64,
    TimestampMs,
}

fn is_utc(tz: Option<&str>) -> bool {
    matches!(tz, None | Some("UTC") | Some("+00:00") | Some("Etc/UTC") | Some("Z"))
}

fn is_int(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

fn is_string(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

impl Target {
    /// Whether a file's column type can be read as this target.
    pub(crate) fn accepts(self, dt: &DataType) -> bool {
        if dt == &DataType::Null {
            return true;
        }
        match self {
            Target::Utf8 => {
                is_string(dt) || matches!(dt, DataType::Dictionary(key, value) if is_int(key) && is_string(value))
            }
            Target::Int32 | Target::Int64 => is_int(dt) || matches!(dt, DataType::Float32 | DataType::Float64),
            Target::Float64 => is_int(dt) || matches!(dt, DataType::Float32 | DataType::Float64),
            Target::TimestampMs => matches!(dt, DataType::Timestamp(_, tz) if is_utc(tz.as_deref())) || is_string(dt),
        }
    }

    /// Already in the form the rules read (no copy needed).
    fn is_canonical(self, dt: &DataType) -> bool {
        match self {
            Target::Utf8 => is_string(dt),
            Target::Int32 => dt == &DataType::Int32,
            Target::Int64 => dt == &DataType::Int64,
            Target::Float64 => dt == &DataType::Float64,
            Target::TimestampMs => matches!(dt, DataType::Timestamp(TimeUnit::Millisecond, _)),
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Target::Utf8 => DataType::Utf8,
            Target::Int32 => DataType::Int32,
            Target::Int64 => DataType::Int64,
            Target::Float64 => DataType::Float64,
            Target::TimestampMs => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        }
    }
}

/// An Arrow type as pyarrow prints it (`large_string`, not `LargeUtf8`).
pub(crate) fn user_type_name(dt: &DataType) -> String {
    let unit = |u: &TimeUnit| match u {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    };
    match dt {
        DataType::Null => "null".into(),
        DataType::Boolean => "bool".into(),
        DataType::Float16 => "halffloat".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Utf8 => "string".into(),
        DataType::LargeUtf8 => "large_string".into(),
        DataType::Utf8View => "string_view".into(),
        DataType::Binary => "binary".into(),
        DataType::LargeBinary => "large_binary".into(),
        DataType::BinaryView => "binary_view".into(),
        DataType::Date32 => "date32[day]".into(),
        DataType::Date64 => "date64[ms]".into(),
        DataType::Timestamp(u, None) => format!("timestamp[{}]", unit(u)),
        DataType::Timestamp(u, Some(tz)) => format!("timestamp[{}, tz={tz}]", unit(u)),
        DataType::Dictionary(key, value) => {
            format!(
                "dictionary<values={}, indices={}>",
                user_type_name(value),
                user_type_name(key)
            )
        }
        DataType::List(item) => format!("list<item: {}>", user_type_name(item.data_type())),
        DataType::LargeList(item) => format!("large_list<item: {}>", user_type_name(item.data_type())),
        DataType::Decimal128(p, s) => format!("decimal128({p}, {s})"),
        // int8 … uint64 print as pyarrow spells them.
        other => other.to_string().to_ascii_lowercase(),
    }
}

fn refuse(column: &'static str, expected: &'static str, found: String) -> SchemaError {
    SchemaError::WrongType {
        column,
        expected,
        found,
    }
}

/// A float32 or float64 column's values, widened to f64.
fn floats(array: &ArrayRef) -> Vec<Option<f64>> {
    match array.data_type() {
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.map(f64::from))
            .collect(),
        _ => array.as_primitive::<Float64Type>().iter().collect(),
    }
}

/// Every value of an integer or float column as `Option<i128>` (floats must be whole).
fn whole_numbers(column: &'static str, array: &ArrayRef) -> Result<Vec<Option<i128>>, SchemaError> {
    macro_rules! ints {
        ($t:ty) => {
            array
                .as_primitive::<$t>()
                .iter()
                .map(|v| v.map(i128::from))
                .collect()
        };
    }
    Ok(match array.data_type() {
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Float32 | DataType::Float64 => {
            let values = floats(array);
            let mut out = Vec::with_capacity(values.len());
            for (row, v) in values.into_iter().enumerate() {
                match v {
                    // pandas writes a missing integer as NaN.
                    Some(f) if f.is_nan() => out.push(None),
                    Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30 => out.push(Some(f as i128)),
                    Some(f) => return Err(refuse(column, "a whole number", format!("{f} at row {row}"))),
                    None => out.push(None),
                }
            }
            out
        }
        other => return Err(refuse(column, "an integer", other.to_string())),
    })
}

fn to_utf8(column: &'static str, array: &ArrayRef) -> Result<ArrayRef, SchemaError> {
    let DataType::Dictionary(key, _) = array.data_type() else {
        return Err(refuse(column, "utf8", user_type_name(array.data_type())));
    };
    macro_rules! dict {
        ($k:ty) => {{
            let d = array.as_dictionary::<$k>();
            let values = d.values();
            let Some(strings) = strings(values) else {
                return Err(refuse(column, "utf8", format!("dictionary of {}", values.data_type())));
            };
            let out: StringArray = d
                .keys()
                .iter()
                .map(|k| k.and_then(|k| strings.get(k as usize).cloned().flatten()))
                .collect();
            Arc::new(out) as ArrayRef
        }};
    }
    Ok(match key.as_ref() {
        DataType::Int8 => dict!(Int8Type),
        DataType::Int16 => dict!(Int16Type),
        DataType::Int32 => dict!(Int32Type),
        DataType::Int64 => dict!(Int64Type),
        DataType::UInt8 => dict!(UInt8Type),
        DataType::UInt16 => dict!(UInt16Type),
        DataType::UInt32 => dict!(UInt32Type),
        DataType::UInt64 => dict!(UInt64Type),
        other => return Err(refuse(column, "utf8", format!("dictionary keyed by {other}"))),
    })
}

/// An ISO-8601 date-time in milliseconds since the epoch; without a zone
/// it is UTC.
pub(crate) fn iso_8601_ms(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let zoned = rest.ends_with(['Z', 'z']) || rest.get(8..).is_some_and(|tail| tail.contains(['+', '-']));
    let full = if zoned {
        format!("{date}T{rest}")
    } else {
        format!("{date}T{rest}Z")
    };
    let at = time::OffsetDateTime::parse(&full, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

fn strings(array: &ArrayRef) -> Option<Vec<Option<String>>> {
    let owned = |v: Option<&str>| v.map(str::to_owned);
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(owned).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(owned).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(owned).collect(),
        _ => return None,
    })
}

fn to_timestamp_ms(column: &'static str, array: &ArrayRef) -> Result<ArrayRef, SchemaError> {
    if let Some(texts) = strings(array) {
        let values = texts
            .iter()
            .enumerate()
            .map(|(row, text)| {
                text.as_deref()
                    .map(|t| {
                        iso_8601_ms(t)
                            .ok_or_else(|| refuse(column, "an ISO-8601 timestamp", format!("{t:?} at row {row}")))
                    })
                    .transpose()
            })
            .collect::<Result<Vec<Option<i64>>, SchemaError>>()?;
        return Ok(Arc::new(TimestampMillisecondArray::from(values).with_timezone("UTC")));
    }
    let DataType::Timestamp(unit, _) = array.data_type() else {
        return Err(refuse(column, "a timestamp", user_type_name(array.data_type())));
    };
    let values: Vec<Option<i64>> = match unit {
        TimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .iter()
            .map(|v| v.map(|s| s.saturating_mul(1000)))
            .collect(),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().iter().collect(),
        TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| v.map(|us| us.div_euclid(1000)))
            .collect(),
        TimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .iter()
            .map(|v| v.map(|ns| ns.div_euclid(1_000_000)))
            .collect(),
    };
    Ok(Arc::new(TimestampMillisecondArray::from(values).with_timezone("UTC")))
}

/// Whole numbers narrowed to `T`; a value out of `T`'s range is refused with its row.
fn narrowed<T: TryFrom<i128>>(
    column: &'static str,
    expected: &'static str,
    array: &ArrayRef,
) -> Result<Vec<Option<T>>, SchemaError> {
    whole_numbers(column, array)?
        .into_iter()
        .enumerate()
        .map(|(row, v)| {
            v.map(|i| T::try_from(i).map_err(|_| refuse(column, expected, format!("{i} at row {row}"))))
                .transpose()
        })
        .collect()
}

fn normalize_column(column: &'static str, target: Target, array: &ArrayRef) -> Result<ArrayRef, SchemaError> {
    if target.is_canonical(array.data_type()) {
        return Ok(Arc::clone(array));
    }
    if array.data_type() == &DataType::Null {
        return Ok(new_null_array(&target.data_type(), array.len()));
    }
    match target {
        Target::Utf8 => to_utf8(column, array),
        Target::TimestampMs => to_timestamp_ms(column, array),
        Target::Float64 => {
            let values: Vec<Option<f64>> = match array.data_type() {
                DataType::Float32 | DataType::Float64 => floats(array),
                _ => whole_numbers(column, array)?
                    .into_iter()
                    .map(|v| v.map(|i| i as f64))
                    .collect(),
            };
            Ok(Arc::new(Float64Array::from(values)))
        }
        Target::Int32 => Ok(Arc::new(Int32Array::from(narrowed::<i32>(column, "int32", array)?))),
        Target::Int64 => Ok(Arc::new(Int64Array::from(narrowed::<i64>(column, "int64", array)?))),
    }
}

/// The batch with every schema-v1 column in its canonical type; other
/// columns are dropped. Canonical columns are not copied.
pub(crate) fn normalize(batch: &RecordBatch, columns: &[(&'static str, Target)]) -> Result<RecordBatch, SchemaError> {
    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays = Vec::with_capacity(columns.len());
    for (name, target) in columns {
        let array = batch.column_by_name(name).ok_or(SchemaError::MissingColumn(name))?;
        let normalized = normalize_column(name, *target, array)?;
        fields.push(Field::new(*name, normalized.data_type().clone(), true));
        arrays.push(normalized);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| SchemaError::Corrupt(e.to_string()))
}
