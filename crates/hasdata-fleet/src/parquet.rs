//! One Parquet file per job, `DIR/JOBID.parquet`, for DuckDB, Spark and pandas.
//!
//! Columns: `job_id` and `row_index` (together unique), then one per property of the
//! scraper's row schema (hasdata-model's), typed where the schema says a property is a plain
//! string, integer, number or boolean, and JSON text otherwise (lists, objects, anything mixed).
//! Nothing is lost: a key the schema does not name, or a value that does not fit its column's
//! type, goes into the last column, `extra`, a JSON object (null when there is none). A
//! scraper without a known row shape therefore has all of each row in `extra`.
//!
//! Written with the parquet crate's own column writers (no arrow, no compression codecs: see
//! docs/ARCHITECTURE.md for the build cost), row groups of [`ROW_GROUP`] rows, to a temporary
//! file renamed on commit like the JSONL sink.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use hasdata_jobs::model::ScraperKind;
use parquet::basic::{LogicalType, Repetition, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use serde_json::{Map, Value};

use crate::error::{FleetError, Result};
use crate::sink::{Sink, SinkJob, SinkWriter, file_stem, publish, temp_beside};

/// Rows per row group: large enough for columnar reads, small enough to hold in memory.
pub const ROW_GROUP: usize = 4096;

fn fail(detail: impl std::fmt::Display) -> FleetError {
    FleetError::sink("parquet", detail)
}

/// How a row-schema property is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// UTF-8 text.
    Text,
    /// A 64-bit integer.
    Integer,
    /// A double.
    Number,
    /// A boolean.
    Boolean,
    /// Anything else, as JSON text.
    Json,
}

/// The columns for a scraper's rows: its row schema's properties, in name order.
pub fn schema_columns(slug: &str) -> Vec<(String, ColumnKind)> {
    let Ok(kind) = ScraperKind::from_str(slug) else {
        return Vec::new();
    };
    let schema = kind.row_schema().to_value();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "job_id" | "row_index" | "extra"))
        .map(|(name, property)| (name.clone(), column_kind(property)))
        .collect()
}

/// A property's column: typed only when its `type` names one plain type (and maybe null).
fn column_kind(property: &Value) -> ColumnKind {
    let types: Vec<&str> = match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return ColumnKind::Json,
    };
    let plain: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    match plain.as_slice() {
        ["string"] => ColumnKind::Text,
        ["integer"] => ColumnKind::Integer,
        ["number"] => ColumnKind::Number,
        ["boolean"] => ColumnKind::Boolean,
        _ => ColumnKind::Json,
    }
}

fn parquet_schema(columns: &[(String, ColumnKind)]) -> Result<Type> {
    let text = |name: &str, repetition| {
        Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
            .with_repetition(repetition)
            .with_logical_type(Some(LogicalType::String))
            .build()
    };
    let mut fields = vec![
        Arc::new(text("job_id", Repetition::REQUIRED).map_err(fail)?),
        Arc::new(
            Type::primitive_type_builder("row_index", Physical::INT64)
                .with_repetition(Repetition::REQUIRED)
                .build()
                .map_err(fail)?,
        ),
    ];
    for (name, kind) in columns {
        let field = match kind {
            ColumnKind::Text | ColumnKind::Json => text(name, Repetition::OPTIONAL),
            ColumnKind::Integer => Type::primitive_type_builder(name, Physical::INT64)
                .with_repetition(Repetition::OPTIONAL)
                .build(),
            ColumnKind::Number => Type::primitive_type_builder(name, Physical::DOUBLE)
                .with_repetition(Repetition::OPTIONAL)
                .build(),
            ColumnKind::Boolean => Type::primitive_type_builder(name, Physical::BOOLEAN)
                .with_repetition(Repetition::OPTIONAL)
                .build(),
        };
        fields.push(Arc::new(field.map_err(fail)?));
    }
    fields.push(Arc::new(text("extra", Repetition::OPTIONAL).map_err(fail)?));
    Type::group_type_builder("row")
        .with_fields(fields)
        .build()
        .map_err(fail)
}

/// One Parquet file per job in a directory.
#[derive(Clone, Debug)]
pub struct ParquetSink {
    dir: PathBuf,
}

impl ParquetSink {
    /// A sink writing into `dir` (created when missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| fail(format!("--out-dir {}: {e}", dir.display())))?;
        Ok(ParquetSink { dir })
    }

    /// Where a job's file goes.
    pub fn path_of(&self, job_id: &str) -> PathBuf {
        self.dir.join(format!("{}.parquet", file_stem(job_id)))
    }
}

#[async_trait]
impl Sink for ParquetSink {
    fn name(&self) -> &'static str {
        "parquet"
    }

    async fn begin(&self, job: &SinkJob) -> Result<Box<dyn SinkWriter>> {
        let columns = schema_columns(&job.slug);
        let schema = Arc::new(parquet_schema(&columns)?);
        let target = self.path_of(&job.job_id);
        let temp = temp_beside(&target);
        let file =
            std::fs::File::create(&temp).map_err(|e| fail(format!("{}: {e}", temp.display())))?;
        let properties = Arc::new(WriterProperties::builder().build());
        let writer = SerializedFileWriter::new(file, schema, properties).map_err(fail)?;
        Ok(Box::new(ParquetWriter {
            job_id: job.job_id.clone(),
            columns,
            rows: Vec::with_capacity(ROW_GROUP),
            writer: Some(writer),
            temp: Some(temp),
            target,
        }))
    }
}

struct ParquetWriter {
    job_id: String,
    columns: Vec<(String, ColumnKind)>,
    /// The current row group: (index, row).
    rows: Vec<(u64, Map<String, Value>)>,
    writer: Option<SerializedFileWriter<std::fs::File>>,
    /// `None` once published.
    temp: Option<PathBuf>,
    target: PathBuf,
}

/// A value for a typed column, or `None` when it does not fit (it then goes to `extra`).
fn fits(kind: ColumnKind, value: &Value) -> bool {
    match kind {
        ColumnKind::Text => value.is_string(),
        ColumnKind::Integer => value.as_i64().is_some(),
        ColumnKind::Number => value.as_f64().is_some(),
        ColumnKind::Boolean => value.is_boolean(),
        ColumnKind::Json => true,
    }
}

impl ParquetWriter {
    /// Writes the buffered rows as one row group.
    fn flush_group(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| fail("the file is closed"))?;
        let mut rows = std::mem::take(&mut self.rows);
        // Take each column's values out of the rows; what is left over is `extra`.
        let mut taken: Vec<Vec<Option<Value>>> = Vec::with_capacity(self.columns.len());
        for (name, kind) in &self.columns {
            taken.push(
                rows.iter_mut()
                    .map(|(_, row)| match row.get(name) {
                        Some(Value::Null) | None => {
                            row.remove(name);
                            None
                        }
                        Some(value) if fits(*kind, value) => row.remove(name),
                        Some(_) => None,
                    })
                    .collect(),
            );
        }
        let mut group = writer.next_row_group().map_err(fail)?;
        let mut column = 0usize;
        while let Some(mut out) = group.next_column().map_err(fail)? {
            let written = match column {
                0 => {
                    let ids = vec![ByteArray::from(self.job_id.as_str()); rows.len()];
                    out.typed::<ByteArrayType>().write_batch(&ids, None, None)
                }
                1 => {
                    let indexes: Vec<i64> = rows
                        .iter()
                        .map(|(i, _)| i64::try_from(*i).unwrap_or(i64::MAX))
                        .collect();
                    out.typed::<Int64Type>().write_batch(&indexes, None, None)
                }
                n if n == self.columns.len() + 2 => {
                    let (values, levels) = optional(rows.iter().map(|(_, row)| {
                        (!row.is_empty()).then(|| {
                            ByteArray::from(Value::Object(row.clone()).to_string().into_bytes())
                        })
                    }));
                    out.typed::<ByteArrayType>()
                        .write_batch(&values, Some(&levels), None)
                }
                n => {
                    let values = &taken[n - 2];
                    match self.columns[n - 2].1 {
                        ColumnKind::Text => {
                            let (v, l) =
                                optional(values.iter().map(|v| {
                                    v.as_ref().and_then(Value::as_str).map(ByteArray::from)
                                }));
                            out.typed::<ByteArrayType>().write_batch(&v, Some(&l), None)
                        }
                        ColumnKind::Json => {
                            let (v, l) = optional(values.iter().map(|v| {
                                v.as_ref()
                                    .map(|v| ByteArray::from(v.to_string().into_bytes()))
                            }));
                            out.typed::<ByteArrayType>().write_batch(&v, Some(&l), None)
                        }
                        ColumnKind::Integer => {
                            let (v, l) =
                                optional(values.iter().map(|v| v.as_ref().and_then(Value::as_i64)));
                            out.typed::<Int64Type>().write_batch(&v, Some(&l), None)
                        }
                        ColumnKind::Number => {
                            let (v, l) =
                                optional(values.iter().map(|v| v.as_ref().and_then(Value::as_f64)));
                            out.typed::<DoubleType>().write_batch(&v, Some(&l), None)
                        }
                        ColumnKind::Boolean => {
                            let (v, l) = optional(
                                values.iter().map(|v| v.as_ref().and_then(Value::as_bool)),
                            );
                            out.typed::<BoolType>().write_batch(&v, Some(&l), None)
                        }
                    }
                }
            };
            written.map_err(fail)?;
            out.close().map_err(fail)?;
            column += 1;
        }
        group.close().map_err(fail)?;
        Ok(())
    }
}

/// The present values and the definition levels (1 present, 0 null) of an optional column.
fn optional<T>(values: impl Iterator<Item = Option<T>>) -> (Vec<T>, Vec<i16>) {
    let mut present = Vec::new();
    let mut levels = Vec::new();
    for value in values {
        match value {
            Some(v) => {
                present.push(v);
                levels.push(1);
            }
            None => levels.push(0),
        }
    }
    (present, levels)
}

#[async_trait]
impl SinkWriter for ParquetWriter {
    async fn write_row(&mut self, index: u64, row: &[u8]) -> Result<()> {
        let row = match serde_json::from_slice::<Value>(row) {
            Ok(Value::Object(map)) => map,
            // A row that is not an object is kept whole under `extra`'s "value".
            Ok(other) => Map::from_iter([("value".to_owned(), other)]),
            Err(e) => return Err(fail(format!("row {index} is not JSON: {e}"))),
        };
        self.rows.push((index, row));
        if self.rows.len() >= ROW_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<String> {
        self.flush_group()?;
        let writer = self
            .writer
            .take()
            .ok_or_else(|| fail("the file is closed"))?;
        let file = writer.into_inner().map_err(fail)?;
        file.sync_all()
            .map_err(|e| fail(format!("{}: {e}", self.target.display())))?;
        let temp = self.temp.take().unwrap_or_default();
        publish(&temp, &self.target)
            .await
            .map_err(|e| fail(format!("{}: {e}", self.target.display())))?;
        Ok(self.target.display().to_string())
    }
}

impl Drop for ParquetWriter {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    use serde_json::json;

    fn read_back(path: &std::path::Path) -> (Vec<String>, Vec<Vec<(String, Field)>>) {
        let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
        let names = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let rows = reader
            .get_row_iter(None)
            .unwrap()
            .map(|row| row.unwrap().into_columns())
            .collect();
        (names, rows)
    }

    #[test]
    fn schema_types_become_column_types() {
        assert_eq!(column_kind(&json!({"type": "string"})), ColumnKind::Text);
        assert_eq!(
            column_kind(&json!({"type": ["integer", "null"]})),
            ColumnKind::Integer
        );
        assert_eq!(
            column_kind(&json!({"type": ["number", "null"]})),
            ColumnKind::Number
        );
        assert_eq!(
            column_kind(&json!({"type": "boolean"})),
            ColumnKind::Boolean
        );
        assert_eq!(
            column_kind(&json!({"type": ["array", "null"]})),
            ColumnKind::Json
        );
        assert_eq!(
            column_kind(&json!({"type": ["string", "integer"]})),
            ColumnKind::Json
        );
        assert_eq!(column_kind(&json!({"$ref": "#/$defs/X"})), ColumnKind::Json);
        let contacts = schema_columns("contacts");
        assert!(contacts.contains(&("emails".to_owned(), ColumnKind::Json)));
        assert!(
            contacts.contains(&("url".to_owned(), ColumnKind::Text)),
            "{contacts:?}"
        );
    }

    #[tokio::test]
    async fn rows_come_back_typed_with_nested_values_as_json_and_nothing_lost() {
        let dir = tempfile::tempdir().unwrap();
        let sink = ParquetSink::new(dir.path()).unwrap();
        let job = SinkJob {
            job_id: "77".into(),
            slug: "contacts".into(),
            item_id: 1,
        };
        let mut writer = sink.begin(&job).await.unwrap();
        let rows = [
            json!({"url": "https://a.example", "emails": ["x@a.example"], "brandNew": {"k": 1}}),
            json!({"url": 42, "emails": []}),
        ];
        // More than one row group.
        let total = ROW_GROUP as u64 + 2;
        for index in 0..total {
            let row = &rows[(index % 2) as usize];
            writer
                .write_row(index, row.to_string().as_bytes())
                .await
                .unwrap();
        }
        let path = writer.commit().await.unwrap();
        let (names, read) = read_back(std::path::Path::new(&path));
        assert_eq!(names.first().map(String::as_str), Some("job_id"));
        assert_eq!(names[1], "row_index");
        assert_eq!(names.last().map(String::as_str), Some("extra"));
        assert_eq!(read.len() as u64, total);
        let get = |row: &Vec<(String, Field)>, name: &str| {
            row.iter().find(|(n, _)| n == name).unwrap().1.clone()
        };
        let first = &read[0];
        assert_eq!(get(first, "job_id"), Field::Str("77".into()));
        assert_eq!(get(first, "row_index"), Field::Long(0));
        assert_eq!(get(first, "url"), Field::Str("https://a.example".into()));
        assert_eq!(
            get(first, "emails"),
            Field::Str(r#"["x@a.example"]"#.into())
        );
        assert_eq!(
            get(first, "extra"),
            Field::Str(r#"{"brandNew":{"k":1}}"#.into())
        );
        let second = &read[1];
        assert_eq!(
            get(second, "url"),
            Field::Null,
            "an unfit value leaves its column"
        );
        assert_eq!(
            get(second, "extra"),
            Field::Str(r#"{"url":42}"#.into()),
            "and is kept"
        );
        assert_eq!(get(second, "emails"), Field::Str("[]".into()));
        assert_eq!(
            get(&read[ROW_GROUP + 1], "row_index"),
            Field::Long(ROW_GROUP as i64 + 1)
        );
    }

    #[tokio::test]
    async fn an_abandoned_job_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let sink = ParquetSink::new(dir.path()).unwrap();
        let job = SinkJob {
            job_id: "5".into(),
            slug: "indeed".into(),
            item_id: 1,
        };
        let mut writer = sink.begin(&job).await.unwrap();
        writer.write_row(0, br#"{"a":1}"#).await.unwrap();
        drop(writer);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
