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

/// For optional fields where `null` means something apart from absent:
/// `#[serde(default, deserialize_with = "domain::number::whole_opt_opt")]`
/// reads absent as `None`, `null` as `Some(None)`.
pub fn whole_opt_opt<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    whole_opt(d).map(Some)
}

/// For maps of whole numbers: `#[serde(deserialize_with = "domain::number::whole_map")]`.
pub fn whole_map<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, T>, D::Error> {
    std::collections::BTreeMap::<String, serde_json::Number>::deserialize(d)?
        .into_iter()
        .map(|(k, n)| read::<D, T>(n).map(|v| (k, v)))
        .collect()
}

/// `whole_map` for an optional map.
pub fn whole_map_opt<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
    d: D,
) -> Result<Option<std::collections::BTreeMap<String, T>>, D::Error> {
    Option::<std::collections::BTreeMap<String, serde_json::Number>>::deserialize(d)?
        .map(|m| {
            m.into_iter()
                .map(|(k, n)| read::<D, T>(n).map(|v| (k, v)))
                .collect()
        })
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

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Team {
        #[serde(default, deserialize_with = "super::whole_opt_opt")]
        after: Option<Option<i64>>,
        #[serde(default, deserialize_with = "super::whole_map")]
        caps: std::collections::BTreeMap<String, i64>,
    }

    #[test]
    fn absent_null_and_maps_of_whole_numbers() {
        let t: Team = serde_json::from_str(r#"{"after": null, "caps": {"chat": 4.0}}"#).unwrap();
        assert_eq!(t.after, Some(None));
        assert_eq!(t.caps["chat"], 4);
        let t: Team = serde_json::from_str(r#"{"after": 30.0}"#).unwrap();
        assert_eq!(t.after, Some(Some(30)));
        assert!(
            serde_json::from_str::<Team>(r#"{}"#)
                .unwrap()
                .after
                .is_none()
        );
        assert!(serde_json::from_str::<Team>(r#"{"caps": {"chat": 1.5}}"#).is_err());
    }
}
