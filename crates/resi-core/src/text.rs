//! Text normalization used by the duplicate and spot-check rules (PROTOCOL.md §5).
//!
//! Each function writes into a caller-owned buffer so the validator's hot loop
//! allocates nothing per row.

/// Normalized address: lowercase; every run of characters that are not letters
/// or digits becomes one space; no leading or trailing space.
/// `"123  Main St., Apt #4"` → `"123 main st apt 4"`.
pub fn normalize_address_into(address: &str, out: &mut String) {
    out.clear();
    let mut pending_space = false;
    for c in address.chars() {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        } else {
            pending_space = true;
        }
    }
}

/// Convenience form of [`normalize_address_into`].
pub fn normalize_address(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    normalize_address_into(address, &mut out);
    out
}

/// Normalized source URL: trimmed and lowercased; `http://` or `https://` and a
/// leading `www.` removed; query string and fragment dropped; trailing slashes
/// removed. `"HTTPS://www.Zillow.com/homedetails/1_zpid/?utm=x"` →
/// `"zillow.com/homedetails/1_zpid"`.
pub fn normalize_url_into(url: &str, out: &mut String) {
    out.clear();
    let mut rest = url.trim();
    for scheme in ["https://", "http://"] {
        if rest.len() >= scheme.len() && rest[..scheme.len()].eq_ignore_ascii_case(scheme) {
            rest = &rest[scheme.len()..];
            break;
        }
    }
    if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("www.") {
        rest = &rest[4..];
    }
    if let Some(cut) = rest.find(['?', '#']) {
        rest = &rest[..cut];
    }
    let rest = rest.trim_end_matches('/');
    for c in rest.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// Convenience form of [`normalize_url_into`].
pub fn normalize_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    normalize_url_into(url, &mut out);
    out
}

/// The zpid a source URL names, if it names one: the text before `_zpid` in
/// the last path segment that contains `_zpid` (Zillow's
/// `/homedetails/<slug>/<zpid>_zpid/`).
pub fn embedded_zpid(url: &str) -> Option<&str> {
    let path_end = url.find(['?', '#']).unwrap_or(url.len());
    let path = &url[..path_end];
    path.split('/')
        .rev()
        .find_map(|segment| segment.find("_zpid").map(|at| &segment[..at]))
        .filter(|zpid| !zpid.is_empty())
}

/// Parses an ISO-8601 calendar date `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_iso_date_days(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i32> {
        b[range].iter().try_fold(0i32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + (d - b'0') as i32))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    Some(date.to_julian_day() as i64 - UNIX_EPOCH_JULIAN_DAY)
}

const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

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
}
