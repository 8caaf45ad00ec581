//! Officials and the roles they hold: acting, suspended, ended.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::values::{CountryCode, format_date, parse_date, parse_text, parse_wikidata_id};
use super::violations::{Violations, echo};

pub const MAX_ALIASES: usize = 20;
pub const MAX_ROLES: usize = 50;

/// An official as clients write it; [`Official::parse`] turns it into an [`Official`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfficialRecord {
    pub display_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub country: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub wikidata_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleRecord {
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub organization: String,
    pub start_date: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub end_date: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub acting: bool,
    /// `ACTIVE`, `SUSPENDED` or `ENDED`; empty: ENDED when `end_date` is set, ACTIVE otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub state: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub state_date: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Official {
    pub display_name: String,
    pub aliases: Vec<String>,
    pub country: CountryCode,
    pub wikidata_id: Option<String>,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub title: String,
    pub organization: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub acting: bool,
    pub state: RoleState,
    /// The day the role entered `state`, when known.
    pub state_date: Option<NaiveDate>,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleState {
    Active,
    Suspended,
    Ended,
}

impl RoleState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::Ended => "ENDED",
        }
    }

    /// Accepts `SUSPENDED`, `suspended` or `ROLE_STATE_SUSPENDED`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let upper = raw.to_ascii_uppercase();
        match upper.strip_prefix("ROLE_STATE_").unwrap_or(&upper) {
            "ACTIVE" => Ok(Self::Active),
            "SUSPENDED" => Ok(Self::Suspended),
            "ENDED" => Ok(Self::Ended),
            _ => Err(format!(
                "{} is not a role state: ACTIVE, SUSPENDED or ENDED",
                echo(raw)
            )),
        }
    }
}

impl Official {
    pub fn parse(record: &OfficialRecord) -> Result<Self, Violations> {
        let mut violations = Violations::new();
        let display_name =
            violations.check("display_name", parse_text(&record.display_name, 200, true));
        let aliases_too_many =
            violations.too_many("aliases", "aliases", record.aliases.len(), MAX_ALIASES);
        let aliases: Vec<String> = (if aliases_too_many {
            &[]
        } else {
            &record.aliases[..]
        })
        .iter()
        .enumerate()
        .filter_map(|(position, alias)| {
            violations.check(format!("aliases[{position}]"), parse_text(alias, 200, true))
        })
        .collect();
        let country = violations.check("country", CountryCode::parse(&record.country));
        let wikidata_id = if record.wikidata_id.is_empty() {
            None
        } else {
            violations.check("wikidata_id", parse_wikidata_id(&record.wikidata_id))
        };
        let roles_too_many = violations.too_many("roles", "roles", record.roles.len(), MAX_ROLES);
        let roles: Vec<Role> = (if roles_too_many {
            &[]
        } else {
            &record.roles[..]
        })
        .iter()
        .enumerate()
        .filter_map(|(position, role)| {
            Role::parse(role, &format!("roles[{position}]"), &mut violations)
        })
        .collect();
        violations.finish(|| Self {
            display_name: display_name.unwrap_or_default(),
            aliases,
            country: country.expect("checked"),
            wikidata_id,
            roles,
        })
    }

    pub fn to_record(&self) -> OfficialRecord {
        OfficialRecord {
            display_name: self.display_name.clone(),
            aliases: self.aliases.clone(),
            country: self.country.to_string(),
            wikidata_id: self.wikidata_id.clone().unwrap_or_default(),
            roles: self.roles.iter().map(Role::to_record).collect(),
        }
    }

    /// The text ListOfficials' `query` matches against: names, aliases and role titles.
    pub fn search_text(&self) -> String {
        let mut text = self.display_name.to_lowercase();
        for part in self
            .aliases
            .iter()
            .chain(self.roles.iter().map(|role| &role.title))
        {
            text.push('\n');
            text.push_str(&part.to_lowercase());
        }
        text
    }
}

impl Role {
    fn parse(record: &RoleRecord, field: &str, violations: &mut Violations) -> Option<Self> {
        let title = violations.check(
            format!("{field}.title"),
            parse_text(&record.title, 200, true),
        );
        let organization = violations.check(
            format!("{field}.organization"),
            parse_text(&record.organization, 200, false),
        );
        let start_date = violations.check(
            format!("{field}.start_date"),
            parse_date(&record.start_date),
        );
        let end_date = optional_date(&record.end_date, &format!("{field}.end_date"), violations)?;
        let state_date = optional_date(
            &record.state_date,
            &format!("{field}.state_date"),
            violations,
        )?;
        let state = if record.state.is_empty()
            || record.state.eq_ignore_ascii_case("ROLE_STATE_UNSPECIFIED")
        {
            if end_date.is_some() {
                RoleState::Ended
            } else {
                RoleState::Active
            }
        } else {
            violations.check(format!("{field}.state"), RoleState::parse(&record.state))?
        };
        let note = violations.check(
            format!("{field}.note"),
            parse_text(&record.note, 2000, false),
        );
        let start_date = start_date?;
        if end_date.is_some_and(|end| end < start_date) {
            violations.add(format!("{field}.end_date"), "must not be before start_date");
        }
        if state_date.is_some_and(|since| since < start_date) {
            violations.add(
                format!("{field}.state_date"),
                "must not be before start_date",
            );
        }
        if state == RoleState::Ended && end_date.is_none() {
            violations.add(
                format!("{field}.end_date"),
                "an ENDED role needs its end_date",
            );
        }
        Some(Self {
            title: title?,
            organization: organization?,
            start_date,
            end_date,
            acting: record.acting,
            state,
            state_date,
            note: note?,
        })
    }

    fn to_record(&self) -> RoleRecord {
        RoleRecord {
            title: self.title.clone(),
            organization: self.organization.clone(),
            start_date: format_date(self.start_date),
            end_date: self.end_date.map(format_date).unwrap_or_default(),
            acting: self.acting,
            state: self.state.code().to_owned(),
            state_date: self.state_date.map(format_date).unwrap_or_default(),
            note: self.note.clone(),
        }
    }
}

/// `Some(None)` for an empty string, `None` when the date is bad (and recorded).
fn optional_date(raw: &str, field: &str, violations: &mut Violations) -> Option<Option<NaiveDate>> {
    if raw.is_empty() {
        Some(None)
    } else {
        violations.check(field, parse_date(raw)).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspended_president_round_trips() {
        let record = OfficialRecord {
            display_name: "Yoon Suk-yeol".into(),
            country: "KOR".into(),
            roles: vec![RoleRecord {
                title: "President".into(),
                start_date: "2022-05-10".into(),
                state: "SUSPENDED".into(),
                state_date: "2024-12-14".into(),
                ..RoleRecord::default()
            }],
            ..OfficialRecord::default()
        };
        let official = Official::parse(&record).unwrap();
        assert_eq!(official.roles[0].state, RoleState::Suspended);
        assert_eq!(Official::parse(&official.to_record()).unwrap(), official);
    }

    #[test]
    fn role_dates_are_checked() {
        let record = OfficialRecord {
            display_name: "X".into(),
            country: "KOR".into(),
            roles: vec![RoleRecord {
                title: "Minister".into(),
                start_date: "2024-01-02".into(),
                end_date: "2024-01-01".into(),
                ..RoleRecord::default()
            }],
            ..OfficialRecord::default()
        };
        let violations = Official::parse(&record).unwrap_err();
        assert_eq!(violations.items()[0].field, "roles[0].end_date");
    }
}
