//! One listing as the protocol defines it (PROTOCOL.md §3, schema version 1).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Exact, case-sensitive match on the schema's spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// `property_type` values.
    PropertyType {
        SingleFamily = "SINGLE_FAMILY",
        Condo = "CONDO",
        Townhouse = "TOWNHOUSE",
        MultiFamily = "MULTI_FAMILY",
        Manufactured = "MANUFACTURED",
        Lot = "LOT",
        Apartment = "APARTMENT",
        Other = "OTHER",
    }
);

text_enum!(
    /// `listing_status` values.
    ListingStatus {
        ForSale = "FOR_SALE",
        Pending = "PENDING",
        Contingent = "CONTINGENT",
        Sold = "SOLD",
        ForRent = "FOR_RENT",
        Other = "OTHER",
    }
);

/// An owned listing row. Every column but `zpid` may be null in a file, so the
/// fields are optional; whether a row is complete is a tier-2 question, not a
/// decoding one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Listing {
    pub zpid: String,
    pub mls_id: Option<String>,
    pub address: Option<String>,
    pub zipcode: Option<String>,
    pub price: Option<i64>,
    pub bedrooms: Option<i32>,
    pub bathrooms: Option<f64>,
    pub sqft: Option<i32>,
    /// ISO-8601 date, `YYYY-MM-DD`.
    pub listing_date: Option<String>,
    pub property_type: Option<PropertyType>,
    pub listing_status: Option<ListingStatus>,
    pub days_on_market: Option<i32>,
    pub source_url: Option<String>,
    /// Unix milliseconds, UTC.
    pub scraped_timestamp_ms: Option<i64>,
}
