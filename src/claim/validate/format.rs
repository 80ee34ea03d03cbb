//! String formats as the API server checks them (kube-openapi's `strfmt`
//! default registry). Formats it does not know, such as `int32`, are not
//! checked there either, so they pass here.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

macro_rules! re {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new($pattern).ok());
    };
}

re!(
    HOSTNAME,
    r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$"
);
re!(
    UUID,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
);
re!(
    UUID3,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
);
re!(
    UUID4,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"
);
re!(
    UUID5,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"
);
re!(
    BASE64,
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"
);
re!(
    DATE_TIME,
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$"
);
re!(DATE, r"^(\d{4})-(\d{2})-(\d{2})$");
re!(
    DURATION,
    r"^([+-]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^0$|^\d+\s?(ns|us|µs|ms|s|m|h|d|w|seconds?|minutes?|hours?|days?|weeks?)$"
);
re!(
    MAC,
    r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$"
);
re!(HEXCOLOR, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$");
re!(
    RGBCOLOR,
    r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$"
);
re!(SSN, r"^\d{3}[- ]?\d{2}[- ]?\d{4}$");
re!(BSON, r"^[0-9a-fA-F]{24}$");
re!(
    EMAIL,
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
);
re!(URI_SCHEME, r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$");

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

/// Whether `s` is valid for `format`.
pub fn valid(format: &str, s: &str) -> bool {
    match format {
        "hostname" => {
            matches(&HOSTNAME, s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
        }
        "uuid" => matches(&UUID, s),
        "uuid3" => matches(&UUID3, s),
        "uuid4" => matches(&UUID4, s),
        "uuid5" => matches(&UUID5, s),
        "byte" => matches(&BASE64, s),
        "date-time" | "datetime" => date_time(s),
        "date" => date(s),
        "duration" => matches(&DURATION, s),
        "ipv4" => s.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok(),
        "cidr" => cidr(s),
        "mac" => matches(&MAC, s),
        "hexcolor" => matches(&HEXCOLOR, s),
        "rgbcolor" => matches(&RGBCOLOR, s),
        "ssn" => matches(&SSN, s),
        "bsonobjectid" => matches(&BSON, s),
        "email" => matches(&EMAIL, s),
        // Request URIs: absolute, or an absolute path.
        "uri" => {
            !s.contains(char::is_whitespace) && (s.starts_with('/') || matches(&URI_SCHEME, s))
        }
        "isbn" => isbn10(s) || isbn13(s),
        "isbn10" => isbn10(s),
        "isbn13" => isbn13(s),
        "creditcard" => luhn(s),
        // `password` accepts anything; unknown formats are not checked.
        _ => true,
    }
}

fn date(s: &str) -> bool {
    let Some(c) = DATE.as_ref().and_then(|r| r.captures(s)) else {
        return false;
    };
    let num = |i: usize| {
        c.get(i)
            .and_then(|m| m.as_str().parse::<u32>().ok())
            .unwrap_or(0)
    };
    let (y, m, d) = (num(1), num(2), num(3));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn date_time(s: &str) -> bool {
    if !matches(&DATE_TIME, s) || !date(&s[..10]) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    matches!((num(11..13), num(14..16), num(17..19)), (Some(h), Some(m), Some(sec)) if h < 24 && m < 60 && sec < 61)
}

fn cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => bits <= 32,
        Ok(IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '-' | ' ')).collect()
}

fn isbn10(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 10 {
        return false;
    }
    let mut sum = 0;
    for (i, c) in d.chars().enumerate() {
        let v = match (i, c) {
            (9, 'X') => 10,
            (_, c) => match c.to_digit(10) {
                Some(v) => v,
                None => return false,
            },
        };
        sum += (10 - i as u32) * v;
    }
    sum % 11 == 0
}

fn isbn13(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 13 {
        return false;
    }
    let mut sum = 0;
    for (i, c) in d.chars().enumerate() {
        let Some(v) = c.to_digit(10) else {
            return false;
        };
        sum += if i % 2 == 0 { v } else { 3 * v };
    }
    sum % 10 == 0
}

fn luhn(s: &str) -> bool {
    let d = digits(s);
    if !(12..=19).contains(&d.len()) {
        return false;
    }
    let mut sum = 0;
    for (i, c) in d.chars().rev().enumerate() {
        let Some(mut v) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_formats_like_kubernetes() {
        struct Case {
            reason: &'static str,
            format: &'static str,
            good: &'static str,
            bad: &'static str,
        }
        let cases = [
            Case {
                reason: "date-time is RFC 3339",
                format: "date-time",
                good: "2024-02-29T12:00:00Z",
                bad: "2023-02-29T12:00:00Z",
            },
            Case {
                reason: "date checks the calendar",
                format: "date",
                good: "2024-12-31",
                bad: "2024-13-01",
            },
            Case {
                reason: "duration in Go's form",
                format: "duration",
                good: "1h30m",
                bad: "soon",
            },
            Case {
                reason: "hostname",
                format: "hostname",
                good: "db.example.org",
                bad: "-bad-.org",
            },
            Case {
                reason: "ipv4",
                format: "ipv4",
                good: "10.0.0.1",
                bad: "10.0.0.256",
            },
            Case {
                reason: "ipv6",
                format: "ipv6",
                good: "fd00::1",
                bad: "fd00:::1",
            },
            Case {
                reason: "cidr",
                format: "cidr",
                good: "10.0.0.0/16",
                bad: "10.0.0.0/33",
            },
            Case {
                reason: "mac",
                format: "mac",
                good: "00:1a:2b:3c:4d:5e",
                bad: "00:1a:2b",
            },
            Case {
                reason: "uuid",
                format: "uuid",
                good: "123e4567-e89b-12d3-a456-426614174000",
                bad: "123e4567",
            },
            Case {
                reason: "byte is base64",
                format: "byte",
                good: "aGVsbG8=",
                bad: "hello!",
            },
            Case {
                reason: "email",
                format: "email",
                good: "jane@example.org",
                bad: "jane@",
            },
            Case {
                reason: "uri must be absolute",
                format: "uri",
                good: "https://example.org/x",
                bad: "example org",
            },
            Case {
                reason: "hexcolor",
                format: "hexcolor",
                good: "#ff0000",
                bad: "#ff00",
            },
            Case {
                reason: "isbn13",
                format: "isbn13",
                good: "978-3-16-148410-0",
                bad: "978-3-16-148410-1",
            },
            Case {
                reason: "creditcard uses luhn",
                format: "creditcard",
                good: "4111 1111 1111 1111",
                bad: "4111 1111 1111 1112",
            },
            Case {
                reason: "unknown formats such as int32 are not checked",
                format: "int32",
                good: "anything",
                bad: "",
            },
        ];
        for c in cases {
            assert!(
                valid(c.format, c.good),
                "{}: `{}` should be valid",
                c.reason,
                c.good
            );
            if c.format != "int32" {
                assert!(
                    !valid(c.format, c.bad),
                    "{}: `{}` should be invalid",
                    c.reason,
                    c.bad
                );
            }
        }
    }
}
