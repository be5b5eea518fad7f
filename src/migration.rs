//! Versions of new migrations: the UTC time as `YYYYMMDDHHMMSS`, as sqlx orders them.

use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

/// The version of a new migration in `root`: now, or one more than the newest existing
/// migration if that is not earlier (two adds in one second).
pub fn next_version(root: &Path) -> String {
    let newest = std::fs::read_dir(root.join("migrations"))
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.split('_').next()?.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0);
    let now: u64 = timestamp().parse().expect("digits");
    now.max(newest + 1).to_string()
}

/// `YYYYMMDDHHMMSS` in UTC. `SAAS_NOW` (Unix seconds) fixes it, for reproducible output
/// in tests.
fn timestamp() -> String {
    let seconds = std::env::var("SAAS_NOW")
        .ok()
        .and_then(|now| now.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let days = (seconds / 86_400) as i64;
    let time = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_counts_become_calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
