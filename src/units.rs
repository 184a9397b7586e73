//! Parsing of quantities with units as they appear on the command line (`250ms`, `4s`).

/// Parses a duration with a unit (`250ms`, `4s`, `1.5s`, `2min`, `90us`) into seconds.
///
/// A bare number is refused: `--window 4` could mean seconds or milliseconds, and a silent
/// factor-of-1000 mistake is worse than asking.
pub fn parse_duration_s(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .ok_or_else(|| format!("'{text}' needs a unit, e.g. 250ms or 4s"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 =
        number.parse().map_err(|_| format!("'{text}' is not a duration (e.g. 250ms or 4s)"))?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!("unknown unit '{other}' in '{text}' (use us, ms, s, min or h)"))
        }
    };
    let seconds = value * scale;
    if !seconds.is_finite() {
        return Err(format!("'{text}' is not a finite duration"));
    }
    Ok(seconds)
}

/// `WIDTHxHEIGHT`, e.g. `640x360`.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("'{text}' is not a size: use WIDTHxHEIGHT, e.g. 640x360");
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    Ok((w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?))
}

/// An offset in ms: a plain number is milliseconds; a number with a unit is converted.
pub fn parse_offset_ms(text: &str) -> Result<f64, String> {
    let value = match text.trim().parse::<f64>() {
        Ok(ms) => ms,
        Err(_) => parse_duration_s(text)? * 1000.0,
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("'{text}' is not a finite offset"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_units() {
        assert_eq!(parse_duration_s("250ms").unwrap(), 0.25);
        assert_eq!(parse_duration_s("4s").unwrap(), 4.0);
        assert_eq!(parse_duration_s("1.5s").unwrap(), 1.5);
        assert_eq!(parse_duration_s("2min").unwrap(), 120.0);
        assert!((parse_duration_s("-40ms").unwrap() + 0.04).abs() < 1e-12);
        assert!((parse_duration_s("90us").unwrap() - 90e-6).abs() < 1e-12);
    }

    #[test]
    fn refuses_bare_numbers_and_unknown_units() {
        assert!(parse_duration_s("4").unwrap_err().contains("needs a unit"));
        assert!(parse_duration_s("4 parsecs").unwrap_err().contains("unknown unit"));
    }
}
