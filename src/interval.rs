//! Intervals such as `30m`, `1h`, `24h`, `2d`, `1w`: how old a table may get before it is rebuilt.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A positive number of minutes, written with one unit (`m`, `h`, `d`, `w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Interval {
    minutes: u64,
}

/// Why an interval token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid interval {token:?}: write a positive whole number followed by m, h, d or w (e.g. 30m, 24h, 2d, 1w)"
)]
pub struct IntervalError {
    pub token: String,
}

impl Interval {
    pub fn from_minutes(minutes: u64) -> Option<Interval> {
        (minutes > 0).then_some(Interval { minutes })
    }

    pub fn minutes(self) -> u64 {
        self.minutes
    }

    pub fn seconds(self) -> u64 {
        self.minutes * 60
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(self.seconds())
    }

    /// Parses `24h` and friends; the unit is case-insensitive, the number a positive integer.
    pub fn parse(token: &str) -> Result<Interval, IntervalError> {
        let err = || IntervalError {
            token: token.to_string(),
        };
        let mut chars = token.chars();
        let unit = chars.next_back().ok_or_else(err)?;
        let number = chars.as_str();
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let factor = match unit.to_ascii_lowercase() {
            'm' => 1,
            'h' => 60,
            'd' => 60 * 24,
            'w' => 60 * 24 * 7,
            _ => return Err(err()),
        };
        let n: u64 = number.parse().map_err(|_| err())?;
        let minutes = n.checked_mul(factor).ok_or_else(err)?;
        // Keep every interval representable as signed milliseconds.
        if minutes > (i64::MAX as u64) / 60_000 {
            return Err(err());
        }
        Interval::from_minutes(minutes).ok_or_else(err)
    }
}

impl fmt::Display for Interval {
    /// The largest unit that divides the interval exactly: 1440 minutes prints as `1d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.minutes;
        for (unit, size) in [("w", 10080), ("d", 1440), ("h", 60)] {
            if m % size == 0 {
                return write!(f, "{}{unit}", m / size);
            }
        }
        write!(f, "{m}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_of_the_original_tool() {
        for (token, minutes) in [
            ("1m", 1),
            ("30m", 30),
            ("4h", 240),
            ("1d", 1440),
            ("1w", 10080),
            ("24m", 24),
            ("16h", 960),
            ("24H", 1440),
            ("2D", 2880),
        ] {
            assert_eq!(
                Interval::parse(token).unwrap().minutes(),
                minutes,
                "{token}"
            );
        }
    }

    #[test]
    fn refuses_everything_else() {
        for token in [
            "",
            "1z",
            "h",
            "0h",
            "-1h",
            "+1h",
            "1.5h",
            " 1h",
            "1h ",
            "1_0h",
            "1s",
            "1mo",
            "1y",
            "99999999999999999999h",
        ] {
            assert!(Interval::parse(token).is_err(), "{token:?} accepted");
        }
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        for (minutes, text) in [
            (1, "1m"),
            (90, "90m"),
            (120, "2h"),
            (1440, "1d"),
            (20160, "2w"),
        ] {
            assert_eq!(Interval::from_minutes(minutes).unwrap().to_string(), text);
        }
    }
}
