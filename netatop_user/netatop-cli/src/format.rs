//! Formatting of times, sizes and rates for the text output.

/// Bytes in the kilobyte of the `KB/s` columns (`1 KB = 1024 bytes`).
pub const KB: f64 = 1024.0;

/// Seconds since the epoch as an ISO 8601 UTC time, `YYYY-MM-DDTHH:MM:SSZ`
/// (the calendar of the `time` crate). Past 9999-12-31T23:59:59Z, which no
/// start time or clock reaches, the seconds themselves with an `s`.
pub fn iso_time(epoch_secs: u64) -> String {
    let utc = i64::try_from(epoch_secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok());
    match utc {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => format!("{epoch_secs}s"),
    }
}

/// A byte count for people: `0B` … `1023B`, then one decimal with a
/// 1024-based unit: `1.0K`, `12.3M`, `4.0G`, `1.5T`, `2.0P`, `16.0E`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    // CAST: display only; f64 keeps far more precision than one decimal.
    let mut v = bytes as f64 / KB;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    // 1023.96K would round to "1024.0K": move on to the next unit instead.
    if format!("{v:.1}") == "1024.0" && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1}{}", UNITS[unit])
}

/// A rate with one decimal below 10000 and none from there on (so that
/// up to 999999999 fits a 9-character column); `-` if unknown.
fn rate(value: Option<f64>) -> String {
    match value {
        Some(r) if r >= 9999.95 => format!("{r:.0}"),
        Some(r) => format!("{r:.1}"),
        None => "-".to_owned(),
    }
}

/// A byte rate (bytes per second) in KB/s (see [`rate`]); `-` if unknown.
pub fn kb_rate(bytes_per_sec: Option<f64>) -> String {
    rate(bytes_per_sec.map(|r| r / KB))
}

/// A packet rate (packets per second; see [`rate`]); `-` if unknown.
pub fn pkt_rate(packets_per_sec: Option<f64>) -> String {
    rate(packets_per_sec)
}

/// Seconds as a short duration: `2s`, `0.5s`, `1.25s`.
pub fn seconds(secs: f64) -> String {
    let s = format!("{secs:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}s")
}

/// Cuts a command name to `width` characters (it never is longer than 15
/// in the module's answers, but `/proc` may say more).
pub fn fit(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(iso_time(1_717_200_000), "2024-06-01T00:00:00Z");
        assert_eq!(iso_time(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(iso_time(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn times_past_year_9999() {
        assert_eq!(iso_time(253_402_300_800), "253402300800s");
        assert_eq!(iso_time(u64::MAX), "18446744073709551615s");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(human_bytes(0), "0B");
        assert_eq!(human_bytes(1023), "1023B");
        assert_eq!(human_bytes(1024), "1.0K");
        assert_eq!(human_bytes(1536), "1.5K");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1.0M");
        assert_eq!(human_bytes(12_897_485), "12.3M");
        assert_eq!(human_bytes(5 << 30), "5.0G");
        assert_eq!(human_bytes(3 << 40), "3.0T");
        assert_eq!(human_bytes(1 << 50), "1.0P");
        assert_eq!(human_bytes(u64::MAX), "16.0E");
    }

    #[test]
    fn rates() {
        assert_eq!(kb_rate(Some(0.0)), "0.0");
        assert_eq!(kb_rate(Some(1536.0)), "1.5");
        assert_eq!(kb_rate(Some(1024.0 * 1000.0)), "1000.0");
        assert_eq!(kb_rate(Some(1024.0 * 9999.9)), "9999.9");
        assert_eq!(kb_rate(Some(1024.0 * 9999.96)), "10000");
        assert_eq!(kb_rate(Some(1024.0 * 123_456.7)), "123457");
        assert_eq!(pkt_rate(Some(1_532_169.04)), "1532169");
        assert_eq!(kb_rate(None), "-");
        assert_eq!(pkt_rate(Some(12.25)), "12.2");
        assert_eq!(pkt_rate(Some(0.5)), "0.5");
        assert_eq!(pkt_rate(None), "-");
    }

    #[test]
    fn durations_and_fitting() {
        assert_eq!(seconds(2.0), "2s");
        assert_eq!(seconds(0.5), "0.5s");
        assert_eq!(seconds(1.25), "1.25s");
        assert_eq!(seconds(2.004), "2s");
        assert_eq!(fit("kworker/u16:3-events", 15), "kworker/u16:3-e");
        assert_eq!(fit("sshd", 15), "sshd");
    }
}
