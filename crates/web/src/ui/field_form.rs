//! Custom fields on a form: the inputs for a ticket's, customer's or
//! organisation's fields (`cf.<key>`), and their values read back.

use super::Form;
use super::views::Opt;
use domain::fields::{FieldTarget, FieldType};
use engine::model::Field;
use serde_json::{Map, Value};

pub struct FieldView {
    pub key: String,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<Opt>,
}

/// The live (not archived) fields of `target` with the values in `values`.
pub fn views(defs: Vec<Field>, target: FieldTarget, values: &Map<String, Value>) -> Vec<FieldView> {
    defs.into_iter()
        .filter(|d| !d.archived && d.applies_to == target)
        .map(|d| {
            let v = values.get(&d.key);
            let value = match v {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            FieldView {
                kind: d.field_type.as_str(),
                checked: v == Some(&Value::Bool(true)),
                options: d
                    .options
                    .iter()
                    .chain((!value.is_empty() && !d.options.contains(&value)).then_some(&value))
                    .map(|o| Opt {
                        value: o.clone(),
                        label: o.clone(),
                        selected: *o == value,
                    })
                    .collect(),
                value,
                key: d.key,
                label: d.label,
            }
        })
        .collect()
}

/// The values the form sends for the live fields of `target` (only those it
/// sends: a checkbox sends an empty hidden value before itself, so unticking
/// is sent too); an emptied field is `null`. `Err` names the label of a
/// number that is not one.
pub fn values(
    f: &Form,
    defs: Vec<Field>,
    target: FieldTarget,
) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    for d in defs
        .into_iter()
        .filter(|d| !d.archived && d.applies_to == target)
    {
        let name = format!("cf.{}", d.key);
        let values: Vec<&str> = f.all(&name).collect();
        let Some(last) = values.last().map(|v| v.trim()) else {
            continue;
        };
        let v = match d.field_type {
            FieldType::Checkbox => Value::Bool(values.contains(&"on")),
            _ if last.is_empty() => Value::Null,
            // A whole number is kept whole (58211, not 58211.0).
            FieldType::Number => match last.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => last
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| d.label.clone())?,
            },
            _ => Value::String(last.to_owned()),
        };
        m.insert(d.key, v);
    }
    Ok(m)
}
