//! Whole numbers as JSON carries them. JSON Schema counts `2.0` as an integer and
//! some clients write every number that way, so an integral float is read as the
//! whole number it is; anything else (a fraction, out of range) is an error.

use serde::{Deserialize, Deserializer, de::Error};

fn read<'de, D: Deserializer<'de>, T: TryFrom<i64>>(n: serde_json::Number) -> Result<T, D::Error> {
    n.as_i64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
        .and_then(|i| T::try_from(i).ok())
        .ok_or_else(|| D::Error::custom(format!("{n} is not a whole number in range")))
}

/// For `#[serde(deserialize_with = "domain::number::whole")]`.
pub fn whole<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    read::<D, T>(serde_json::Number::deserialize(d)?)
}

/// For optional fields: `#[serde(default, deserialize_with = "domain::number::whole_opt")]`.
pub fn whole_opt<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(read::<D, T>)
        .transpose()
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Port {
        #[serde(deserialize_with = "super::whole")]
        port: u16,
        #[serde(default, deserialize_with = "super::whole_opt")]
        tier: Option<i64>,
    }

    fn port(s: &str) -> Option<Port> {
        serde_json::from_str(s).ok()
    }

    #[test]
    fn integral_floats_are_whole_numbers() {
        assert_eq!(
            port(r#"{"port": 587}"#),
            Some(Port {
                port: 587,
                tier: None
            })
        );
        assert_eq!(
            port(r#"{"port": 587.0, "tier": 2.0}"#),
            Some(Port {
                port: 587,
                tier: Some(2)
            })
        );
        assert_eq!(
            port(r#"{"port": 587, "tier": null}"#),
            Some(Port {
                port: 587,
                tier: None
            })
        );
        assert_eq!(port(r#"{"port": 587.5}"#), None);
        assert_eq!(port(r#"{"port": 70000}"#), None);
        assert_eq!(port(r#"{"port": -1}"#), None);
        assert_eq!(port(r#"{"port": "587"}"#), None);
        assert_eq!(port(r#"{"port": 1, "tier": 1e300}"#), None);
    }
}
