//! `dataset/history/zipcode={zipcode}/part-0.parquet`: a zipcode's listings
//! across epochs, one row per zpid and price, with the epochs it was first
//! and last seen at that price, so price changes and time on the market are
//! read without scanning every epoch.
//!
//! The epochs folded in are kept in the file itself (Arrow schema metadata
//! `resi.history.epochs`), so the file and what it covers are replaced
//! together: folding an epoch already in it changes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use resi_core::schema::{col, write_parquet, EncodeError};
use resi_core::{EpochId, Zipcode};

use crate::read::{batches, column, int32, int64, millis, string, ReadError, Sighting};

/// The metadata key holding the epochs folded in, comma-separated, oldest first.
pub const EPOCHS_KEY: &str = "resi.history.epochs";

pub const FIRST_SEEN_EPOCH: &str = "first_seen_epoch";
pub const LAST_SEEN_EPOCH: &str = "last_seen_epoch";
pub const EPOCHS_SEEN: &str = "epochs_seen";
pub const FIRST_SCRAPED: &str = "first_scraped";
pub const LAST_SCRAPED: &str = "last_scraped";

/// Where a zipcode's history lives, relative to the dataset's root.
pub fn history_key(zipcode: &Zipcode) -> String {
    format!("dataset/history/zipcode={zipcode}/part-0.parquet")
}

/// One zpid at one price: the span of epochs it was listed at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    pub zpid: String,
    pub price: Option<i64>,
    pub first_seen_epoch: EpochId,
    pub last_seen_epoch: EpochId,
    /// Epochs it was seen at this price (fewer than the span when it left
    /// the market and came back).
    pub epochs_seen: u32,
    pub first_scraped_ms: Option<i64>,
    pub last_scraped_ms: Option<i64>,
    /// As last seen.
    pub address: Option<String>,
    pub listing_status: Option<String>,
    pub days_on_market: Option<i32>,
}

/// A zipcode's history: the epochs folded in and the rows, sorted by zpid
/// then first epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    epochs: Vec<EpochId>,
    rows: Vec<HistoryRow>,
}

/// Why an epoch cannot be folded in at the end.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("epoch {epoch} is not after the history's last epoch {last}: rebuild the history in order")]
pub struct OutOfOrder {
    pub epoch: EpochId,
    pub last: EpochId,
}

impl History {
    pub fn epochs(&self) -> &[EpochId] {
        &self.epochs
    }

    pub fn rows(&self) -> &[HistoryRow] {
        &self.rows
    }

    /// The epoch folded in just before `epoch` (whether or not `epoch` is).
    pub fn epoch_before(&self, epoch: EpochId) -> Option<EpochId> {
        self.epochs.iter().rev().find(|e| **e < epoch).copied()
    }

    /// Folds `epoch`'s sightings in: a zpid seen at the price of its latest
    /// row extends that row; a new zpid or a new price starts a row.
    pub fn fold(&mut self, epoch: EpochId, sightings: &[Sighting]) -> Result<(), OutOfOrder> {
        if let Some(&last) = self.epochs.last() {
            if epoch <= last {
                return Err(OutOfOrder { epoch, last });
            }
        }
        // The latest row of each zpid: rows are sorted, so the last one of its run.
        let mut latest: HashMap<&str, usize> = HashMap::with_capacity(self.rows.len());
        for (i, row) in self.rows.iter().enumerate() {
            latest.insert(row.zpid.as_str(), i);
        }
        let mut extend = Vec::new();
        let mut start = Vec::new();
        for s in sightings {
            match latest.get(s.zpid.as_str()) {
                Some(&i) if self.rows[i].price == s.price => extend.push((i, s)),
                _ => start.push(s),
            }
        }
        for (i, s) in extend {
            let row = &mut self.rows[i];
            row.last_seen_epoch = epoch;
            row.epochs_seen += 1;
            row.last_scraped_ms = s.scraped_ms;
            row.address = s.address.clone();
            row.listing_status = s.listing_status.clone();
            row.days_on_market = s.days_on_market;
        }
        self.rows.extend(start.into_iter().map(|s| HistoryRow {
            zpid: s.zpid.clone(),
            price: s.price,
            first_seen_epoch: epoch,
            last_seen_epoch: epoch,
            epochs_seen: 1,
            first_scraped_ms: s.scraped_ms,
            last_scraped_ms: s.scraped_ms,
            address: s.address.clone(),
            listing_status: s.listing_status.clone(),
            days_on_market: s.days_on_market,
        }));
        self.rows
            .sort_by(|a, b| (a.zpid.as_str(), a.first_seen_epoch).cmp(&(b.zpid.as_str(), b.first_seen_epoch)));
        self.epochs.push(epoch);
        Ok(())
    }

    pub fn schema() -> Schema {
        let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        Schema::new(vec![
            Field::new(col::ZPID, DataType::Utf8, false),
            Field::new(col::PRICE, DataType::Int64, true),
            Field::new(FIRST_SEEN_EPOCH, DataType::Utf8, false),
            Field::new(LAST_SEEN_EPOCH, DataType::Utf8, false),
            Field::new(EPOCHS_SEEN, DataType::Int32, false),
            Field::new(FIRST_SCRAPED, ts.clone(), true),
            Field::new(LAST_SCRAPED, ts, true),
            Field::new(col::ADDRESS, DataType::Utf8, true),
            Field::new(col::LISTING_STATUS, DataType::Utf8, true),
            Field::new(col::DAYS_ON_MARKET, DataType::Int32, true),
        ])
    }

    /// The history as a Parquet file; the same history, the same bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let n = self.rows.len();
        let mut zpid = StringBuilder::with_capacity(n, n * 10);
        let mut price = Int64Builder::with_capacity(n);
        let mut first = StringBuilder::with_capacity(n, n * 19);
        let mut last = StringBuilder::with_capacity(n, n * 19);
        let mut seen = Int32Builder::with_capacity(n);
        let mut first_scraped = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut last_scraped = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut address = StringBuilder::with_capacity(n, n * 32);
        let mut status = StringBuilder::with_capacity(n, n * 8);
        let mut dom = Int32Builder::with_capacity(n);
        for r in &self.rows {
            zpid.append_value(&r.zpid);
            price.append_option(r.price);
            first.append_value(r.first_seen_epoch.to_string());
            last.append_value(r.last_seen_epoch.to_string());
            seen.append_value(i32::try_from(r.epochs_seen).unwrap_or(i32::MAX));
            first_scraped.append_option(r.first_scraped_ms);
            last_scraped.append_option(r.last_scraped_ms);
            address.append_option(r.address.as_deref());
            status.append_option(r.listing_status.as_deref());
            dom.append_option(r.days_on_market);
        }
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(zpid.finish()),
            Arc::new(price.finish()),
            Arc::new(first.finish()),
            Arc::new(last.finish()),
            Arc::new(seen.finish()),
            Arc::new(first_scraped.finish()),
            Arc::new(last_scraped.finish()),
            Arc::new(address.finish()),
            Arc::new(status.finish()),
            Arc::new(dom.finish()),
        ];
        let epochs: Vec<String> = self.epochs.iter().map(ToString::to_string).collect();
        let schema = Arc::new(Self::schema().with_metadata(HashMap::from([(EPOCHS_KEY.to_owned(), epochs.join(","))])));
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| EncodeError::new(e.to_string()))?;
        write_parquet(schema, &batch, &[col::ZPID, col::ADDRESS])
    }

    /// A history file read back.
    pub fn decode(bytes: Bytes) -> Result<Self, ReadError> {
        let (batches, metadata) = batches(bytes)?;
        let epoch = |text: &str| EpochId::parse(text).map_err(|e| ReadError(format!("{text:?}: {e}")));
        let epochs = match metadata.get(EPOCHS_KEY).map(String::as_str) {
            None => return Err(ReadError(format!("no {EPOCHS_KEY} metadata: not a resi history file"))),
            Some("") => Vec::new(),
            Some(list) => list.split(',').map(epoch).collect::<Result<Vec<_>, _>>()?,
        };
        let mut rows = Vec::new();
        for batch in &batches {
            let zpid = column::<StringArray>(batch, col::ZPID)?;
            let price = column::<Int64Array>(batch, col::PRICE)?;
            let first = column::<StringArray>(batch, FIRST_SEEN_EPOCH)?;
            let last = column::<StringArray>(batch, LAST_SEEN_EPOCH)?;
            let seen = column::<Int32Array>(batch, EPOCHS_SEEN)?;
            let first_scraped = column::<TimestampMillisecondArray>(batch, FIRST_SCRAPED)?;
            let last_scraped = column::<TimestampMillisecondArray>(batch, LAST_SCRAPED)?;
            let address = column::<StringArray>(batch, col::ADDRESS)?;
            let status = column::<StringArray>(batch, col::LISTING_STATUS)?;
            let dom = column::<Int32Array>(batch, col::DAYS_ON_MARKET)?;
            for i in 0..batch.num_rows() {
                rows.push(HistoryRow {
                    zpid: zpid.value(i).to_owned(),
                    price: int64(price, i),
                    first_seen_epoch: epoch(first.value(i))?,
                    last_seen_epoch: epoch(last.value(i))?,
                    epochs_seen: u32::try_from(seen.value(i)).unwrap_or(0),
                    first_scraped_ms: millis(first_scraped, i),
                    last_scraped_ms: millis(last_scraped, i),
                    address: string(address, i),
                    listing_status: string(status, i),
                    days_on_market: int32(dom, i),
                });
            }
        }
        Ok(Self { epochs, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(zpid: &str, price: i64, ms: i64) -> Sighting {
        Sighting {
            zpid: zpid.into(),
            price: Some(price),
            address: Some(format!("{zpid} Main St")),
            listing_status: Some("FOR_SALE".into()),
            days_on_market: Some(1),
            scraped_ms: Some(ms),
        }
    }

    fn epoch(hour: u32) -> EpochId {
        EpochId::parse(&format!("2026-12-07T{hour:02}-00-00")).unwrap()
    }

    #[test]
    fn a_price_change_starts_a_row_and_the_same_price_extends_one() {
        let mut h = History::default();
        h.fold(epoch(0), &[seen("1", 100, 10), seen("2", 200, 10)]).unwrap();
        h.fold(epoch(4), &[seen("1", 100, 20), seen("2", 250, 20), seen("3", 300, 20)])
            .unwrap();
        // 2 leaves the market, 1 stays.
        h.fold(epoch(8), &[seen("1", 100, 30)]).unwrap();
        type Row<'a> = (&'a str, Option<i64>, EpochId, EpochId, u32, Option<i64>);
        let got: Vec<Row> = h
            .rows()
            .iter()
            .map(|r| {
                (
                    r.zpid.as_str(),
                    r.price,
                    r.first_seen_epoch,
                    r.last_seen_epoch,
                    r.epochs_seen,
                    r.first_scraped_ms,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("1", Some(100), epoch(0), epoch(8), 3, Some(10)),
                ("2", Some(200), epoch(0), epoch(0), 1, Some(10)),
                ("2", Some(250), epoch(4), epoch(4), 1, Some(20)),
                ("3", Some(300), epoch(4), epoch(4), 1, Some(20)),
            ]
        );
        assert_eq!(h.epoch_before(epoch(8)), Some(epoch(4)));
        assert_eq!(h.epoch_before(epoch(0)), None);
        assert_eq!(
            h.fold(epoch(4), &[]),
            Err(OutOfOrder {
                epoch: epoch(4),
                last: epoch(8)
            }),
            "an epoch already in (or before the last) is refused, never folded twice"
        );
    }

    #[test]
    fn a_history_round_trips_through_its_file_byte_for_byte() {
        let mut h = History::default();
        h.fold(epoch(0), &[seen("1", 100, 10)]).unwrap();
        h.fold(epoch(4), &[seen("1", 110, 20)]).unwrap();
        let bytes = h.encode().unwrap();
        let back = History::decode(Bytes::from(bytes.clone())).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.encode().unwrap(), bytes);
        assert_eq!(
            History::decode(Bytes::from(History::default().encode().unwrap())).unwrap(),
            History::default()
        );
    }
}
