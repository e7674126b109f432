//! Text normalization used by the duplicate and spot-check rules (PROTOCOL.md §5).
//!
//! Each function writes into a caller-owned buffer so the validator's hot loop
//! allocates nothing per row.

/// Normalized address: lowercase; every run of characters that are not letters
/// or digits becomes one space; no leading or trailing space.
/// `"123  Main St., Apt #4"` → `"123 main st apt 4"`. Written as UTF-8 bytes
/// into `out`, so the validator's hot loop allocates nothing per row.
pub fn normalize_address_bytes(address: &str, out: &mut Vec<u8>) {
    out.clear();
    let mut pending_space = false;
    if address.is_ascii() {
        out.reserve(address.len());
        for &b in address.as_bytes() {
            let folded = ASCII_FOLD[b as usize];
            if folded != 0 {
                if pending_space && !out.is_empty() {
                    out.push(b' ');
                }
                pending_space = false;
                out.push(folded);
            } else {
                pending_space = true;
            }
        }
        return;
    }
    let mut utf8 = [0u8; 4];
    for c in address.chars() {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(b' ');
            }
            pending_space = false;
            for lower in c.to_lowercase() {
                out.extend_from_slice(lower.encode_utf8(&mut utf8).as_bytes());
            }
        } else {
            pending_space = true;
        }
    }
}

/// ASCII letters and digits to their lowercase form; everything else to 0.
const ASCII_FOLD: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    table
};

/// [`normalize_address_bytes`] as a `String`.
pub fn normalize_address(address: &str) -> String {
    let mut out = Vec::with_capacity(address.len());
    normalize_address_bytes(address, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.as_bytes().get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix.as_bytes())
        .then(|| &text[prefix.len()..])
}

/// Normalized source URL: trimmed and lowercased; `http://` or `https://` and a
/// leading `www.` removed; query string and fragment dropped; trailing slashes
/// removed. `"HTTPS://www.Zillow.com/homedetails/1_zpid/?utm=x"` →
/// `"zillow.com/homedetails/1_zpid"`. Written as UTF-8 bytes into `out`.
pub fn normalize_url_bytes(url: &str, out: &mut Vec<u8>) {
    out.clear();
    let mut rest = url.trim_matches(|c: char| c.is_ascii_whitespace());
    rest = strip_prefix_ignore_case(rest, "https://")
        .or_else(|| strip_prefix_ignore_case(rest, "http://"))
        .unwrap_or(rest);
    rest = strip_prefix_ignore_case(rest, "www.").unwrap_or(rest);
    let rest = url_path(rest).trim_end_matches('/');
    if rest.is_ascii() {
        out.extend_from_slice(rest.as_bytes());
        out.make_ascii_lowercase();
        return;
    }
    let mut utf8 = [0u8; 4];
    for c in rest.chars() {
        for lower in c.to_lowercase() {
            out.extend_from_slice(lower.encode_utf8(&mut utf8).as_bytes());
        }
    }
}

/// [`normalize_url_bytes`] as a `String`.
pub fn normalize_url(url: &str) -> String {
    let mut out = Vec::with_capacity(url.len());
    normalize_url_bytes(url, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The zpid a source URL names, if it names one: before any `?` or `#`, the
/// text between the last `_zpid` and the `/` before it (Zillow's
/// `/homedetails/<slug>/<zpid>_zpid/`).
pub fn embedded_zpid(url: &str) -> Option<&str> {
    // Built once: the validator asks this of every row.
    static ZPID_MARK: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new(b"_zpid"));
    let path = url_path(url).as_bytes();
    let at = ZPID_MARK.rfind(path)?;
    let start = memchr::memrchr(b'/', &path[..at]).map_or(0, |slash| slash + 1);
    // `_zpid` and `/` are ASCII, so both ends are character boundaries.
    url.get(start..at).filter(|zpid| !zpid.is_empty())
}

/// `url` up to its first `?` or `#` (ASCII, so the cut is a character boundary).
fn url_path(url: &str) -> &str {
    match memchr::memchr2(b'?', b'#', url.as_bytes()) {
        Some(cut) => &url[..cut],
        None => url,
    }
}

/// Parses an ISO-8601 calendar date `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_iso_date_days(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i32> {
        b[range]
            .iter()
            .try_fold(0i32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + (d - b'0') as i32))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    days_from_civil(year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date, `None` when the
/// month or day does not exist. Howard Hinnant's `days_from_civil`: the
/// validator parses a date per row, and this is a few integer operations
/// where a calendar type's constructor was a tenth of the row's work.
fn days_from_civil(year: i32, month: i32, day: i32) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let (year, month, day) = (i64::from(year), i64::from(month), i64::from(day));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(normalize_address("123  Main St., Apt #4"), "123 main st apt 4");
        assert_eq!(normalize_address("  ÉLAN Ave "), "élan ave");
        assert_eq!(normalize_address("---"), "");
    }

    #[test]
    fn urls() {
        assert_eq!(
            normalize_url("HTTPS://www.Zillow.com/homedetails/1_zpid/?utm=x#top"),
            "zillow.com/homedetails/1_zpid"
        );
        assert_eq!(normalize_url("http://zillow.com/a//"), "zillow.com/a");
    }

    #[test]
    fn zpid_in_url() {
        assert_eq!(
            embedded_zpid("https://www.zillow.com/homedetails/1-Main-St-Cypress-TX-77429/2077583_zpid/"),
            Some("2077583")
        );
        assert_eq!(embedded_zpid("https://example.com/listing/42"), None);
        assert_eq!(embedded_zpid("https://x.com/_zpid/"), None);
        assert_eq!(embedded_zpid("https://x.com/9_zpid?next=/8_zpid"), Some("9"));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_iso_date_days("1970-01-01"), Some(0));
        assert_eq!(parse_iso_date_days("2025-10-01"), Some(20362));
        assert_eq!(parse_iso_date_days("2025-02-29"), None);
        assert_eq!(parse_iso_date_days("2025-1-01"), None);
        assert_eq!(parse_iso_date_days("2025/10/01"), None);
    }

    /// The same days as the `time` crate's calendar, and the same refusals,
    /// for every day of every year 0000–9999 (and impossible days).
    #[test]
    fn dates_agree_with_a_calendar_library() {
        for year in 0..=9999 {
            for month in 1..=13 {
                for day in [0, 1, 15, 28, 29, 30, 31, 32] {
                    let text = format!("{year:04}-{month:02}-{day:02}");
                    let reference = time::Month::try_from(month as u8)
                        .ok()
                        .and_then(|m| time::Date::from_calendar_date(year, m, day as u8).ok())
                        .map(|d| d.to_julian_day() as i64 - 2_440_588);
                    assert_eq!(parse_iso_date_days(&text), reference, "{text}");
                }
            }
        }
    }
}

/// USPS street suffixes and directionals (Publication 28, appendix C1/B),
/// spelled out → standard abbreviation. Abbreviations map to themselves by
/// not being listed.
const STREET_WORDS: &[(&str, &str)] = &[
    ("alley", "aly"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("boulevard", "blvd"),
    ("circle", "cir"),
    ("court", "ct"),
    ("cove", "cv"),
    ("crossing", "xing"),
    ("drive", "dr"),
    ("expressway", "expy"),
    ("freeway", "fwy"),
    ("highway", "hwy"),
    ("lane", "ln"),
    ("parkway", "pkwy"),
    ("place", "pl"),
    ("plaza", "plz"),
    ("point", "pt"),
    ("road", "rd"),
    ("square", "sq"),
    ("street", "st"),
    ("terrace", "ter"),
    ("trail", "trl"),
    ("way", "way"),
    ("north", "n"),
    ("south", "s"),
    ("east", "e"),
    ("west", "w"),
    ("northeast", "ne"),
    ("northwest", "nw"),
    ("southeast", "se"),
    ("southwest", "sw"),
];

/// Unit designators: dropped, so `UNIT 3508`, `APT 3508`, `# 3508` and
/// `STE 3508` all leave `3508`.
const UNIT_WORDS: &[&str] = &["unit", "apt", "apartment", "ste", "suite", "no", "num", "number"];

/// The street part of an address, as tier 3 compares it: the text before
/// the first comma (so a full "street, city, ST zip" and a bare street
/// compare equal), normalized as [`normalize_address`], with USPS street
/// suffixes and directionals abbreviated and unit designators dropped.
/// `"950 1st Avenue North, Unit 3508, Nashville, TN"` and
/// `"950 1st Ave N #3508"` both give `"950 1st ave n 3508"`.
pub fn street_key(address: &str) -> String {
    let mut parts = address.split(',');
    let street = parts.next().unwrap_or_default();
    // A unit after the street's first comma ("…, Unit 3508, …") belongs to the street.
    let unit = parts.next().map(str::trim).filter(|part| {
        let first = part.split_whitespace().next().unwrap_or_default();
        part.starts_with('#') || UNIT_WORDS.iter().any(|w| first.eq_ignore_ascii_case(w))
    });
    // Tier 3 keys two addresses per sample: one buffer for the text, one
    // for its normalized bytes, and the key itself.
    let mut text = String::with_capacity(street.len() + unit.map_or(0, |u| u.len() + 1));
    text.push_str(street);
    if let Some(unit) = unit {
        text.push(' ');
        text.push_str(unit);
    }
    let mut normalized = Vec::with_capacity(text.len());
    normalize_address_bytes(&text, &mut normalized);
    let mut key = String::with_capacity(normalized.len());
    // Normalized bytes are UTF-8 split at ASCII spaces, so every word is too.
    for word in normalized
        .split(|&b| b == b' ')
        .filter_map(|w| std::str::from_utf8(w).ok())
    {
        if word.is_empty() || UNIT_WORDS.contains(&word) {
            continue;
        }
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(
            STREET_WORDS
                .iter()
                .find(|(long, _)| *long == word)
                .map_or(word, |(_, short)| short),
        );
    }
    key
}

#[cfg(test)]
mod street_tests {
    use super::street_key;

    #[test]
    fn the_same_street_written_differently_has_one_key() {
        let key = "950 1st ave n 3508";
        for written in [
            "950 1st Ave N UNIT 3508, Nashville, TN 37201",
            "950 1st Avenue North #3508",
            "950 1st Ave N, Unit 3508, Nashville, TN",
            "950  1ST AVE. N., APT 3508",
            "950 1st Ave N Ste 3508",
        ] {
            assert_eq!(street_key(written), key, "{written}");
        }
        assert_ne!(street_key("950 1st Ave S #3508"), key);
        assert_ne!(street_key("951 1st Ave N #3508"), key);
        assert_ne!(street_key("950 1st Ave N #3509"), key);
        assert_eq!(street_key(""), "");
    }

    /// The key as first written (a string per step), kept to show the
    /// one-buffer version gives the same key.
    fn street_key_by_steps(address: &str) -> String {
        use super::{normalize_address, STREET_WORDS, UNIT_WORDS};
        let street = address.split(',').next().unwrap_or_default();
        let unit = address.split(',').nth(1).map(str::trim).filter(|part| {
            let first = part.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
            part.starts_with('#') || UNIT_WORDS.contains(&first.as_str())
        });
        let mut text = street.to_owned();
        if let Some(unit) = unit {
            text.push(' ');
            text.push_str(unit);
        }
        normalize_address(&text)
            .split(' ')
            .filter(|word| !word.is_empty() && !UNIT_WORDS.contains(word))
            .map(|word| {
                STREET_WORDS
                    .iter()
                    .find(|(long, _)| *long == word)
                    .map_or(word, |(_, short)| short)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn one_buffer_gives_the_key_written_step_by_step() {
        let streets = [
            "950 1st Avenue North",
            "12 Élysée Rd",
            "",
            "  ",
            "7 O'Neil St. SW",
            "Straße 5",
            "#4",
        ];
        let units = [
            "",
            ", Unit 3508",
            ", APT 2",
            ", #9",
            ", Nashville",
            ",unit",
            ", Ste Ünit",
            ", NO 4, TN",
        ];
        let tails = ["", ", Nashville, TN 37201", ",,", ", "];
        for street in streets {
            for unit in units {
                for tail in tails {
                    let address = format!("{street}{unit}{tail}");
                    assert_eq!(street_key(&address), street_key_by_steps(&address), "{address:?}");
                }
            }
        }
    }
}
