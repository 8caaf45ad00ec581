//! The PLOVER event types, their quad classes and their scores: the tables the digest weighs with.

use std::fmt;

use super::violations::echo;

/// The 16 PLOVER event types, in the order of the proto enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    Agree,
    Consult,
    Support,
    Concede,
    Cooperate,
    Aid,
    Retreat,
    Request,
    Accuse,
    Reject,
    Threaten,
    Protest,
    Sanction,
    Mobilize,
    Coerce,
    Assault,
}

/// The four quad classes the event types fall into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuadClass {
    VerbalCooperation,
    MaterialCooperation,
    VerbalConflict,
    MaterialConflict,
}

impl EventType {
    pub const ALL: [EventType; 16] = [
        Self::Agree,
        Self::Consult,
        Self::Support,
        Self::Concede,
        Self::Cooperate,
        Self::Aid,
        Self::Retreat,
        Self::Request,
        Self::Accuse,
        Self::Reject,
        Self::Threaten,
        Self::Protest,
        Self::Sanction,
        Self::Mobilize,
        Self::Coerce,
        Self::Assault,
    ];

    /// The PLOVER name, e.g. `CONSULT`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Agree => "AGREE",
            Self::Consult => "CONSULT",
            Self::Support => "SUPPORT",
            Self::Concede => "CONCEDE",
            Self::Cooperate => "COOPERATE",
            Self::Aid => "AID",
            Self::Retreat => "RETREAT",
            Self::Request => "REQUEST",
            Self::Accuse => "ACCUSE",
            Self::Reject => "REJECT",
            Self::Threaten => "THREATEN",
            Self::Protest => "PROTEST",
            Self::Sanction => "SANCTION",
            Self::Mobilize => "MOBILIZE",
            Self::Coerce => "COERCE",
            Self::Assault => "ASSAULT",
        }
    }

    /// Accepts `CONSULT`, `consult` or the proto spelling `EVENT_TYPE_CONSULT`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let upper = raw.to_ascii_uppercase();
        let code = upper.strip_prefix("EVENT_TYPE_").unwrap_or(&upper);
        Self::ALL
            .into_iter()
            .find(|event_type| event_type.code() == code)
            .ok_or_else(|| {
                if raw.is_empty() || code == "UNSPECIFIED" {
                    "must be set to one of the 16 PLOVER event types".to_owned()
                } else {
                    format!("{} is not a PLOVER event type", echo(raw))
                }
            })
    }

    /// PLOVER's score for the type, the default intensity of an item.
    pub fn score(self) -> f64 {
        match self {
            Self::Agree | Self::Consult => 2.5,
            Self::Support => 5.0,
            Self::Concede => 4.5,
            Self::Cooperate => 9.5,
            Self::Aid => 10.0,
            Self::Retreat => 6.5,
            Self::Request => 0.0,
            Self::Accuse => -3.0,
            Self::Reject => -2.0,
            Self::Threaten => -3.5,
            Self::Protest => -5.0,
            Self::Sanction => -6.0,
            Self::Mobilize => -5.5,
            Self::Coerce => -7.0,
            Self::Assault => -9.0,
        }
    }

    pub fn quad_class(self) -> QuadClass {
        match self {
            Self::Agree | Self::Consult | Self::Support | Self::Concede => {
                QuadClass::VerbalCooperation
            }
            Self::Cooperate | Self::Aid | Self::Retreat => QuadClass::MaterialCooperation,
            Self::Request | Self::Accuse | Self::Reject | Self::Threaten => {
                QuadClass::VerbalConflict
            }
            Self::Protest | Self::Sanction | Self::Mobilize | Self::Coerce | Self::Assault => {
                QuadClass::MaterialConflict
            }
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

impl QuadClass {
    pub const ALL: [QuadClass; 4] = [
        Self::VerbalCooperation,
        Self::MaterialCooperation,
        Self::VerbalConflict,
        Self::MaterialConflict,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::VerbalCooperation => "verbal cooperation",
            Self::MaterialCooperation => "material cooperation",
            Self::VerbalConflict => "verbal conflict",
            Self::MaterialConflict => "material conflict",
        }
    }
}

/// How cooperative (+) or hostile (−) an item is, in −10..=+10.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Intensity(f64);

impl Intensity {
    pub fn parse(raw: f64) -> Result<Self, String> {
        if raw.is_finite() && (-10.0..=10.0).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(format!("must lie between -10 and 10, got {raw}"))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_classes_are_plovers() {
        assert_eq!(EventType::Consult.score(), 2.5);
        assert_eq!(EventType::Assault.score(), -9.0);
        assert_eq!(
            EventType::Retreat.quad_class(),
            QuadClass::MaterialCooperation
        );
        assert_eq!(EventType::Protest.quad_class(), QuadClass::MaterialConflict);
        for event_type in EventType::ALL {
            assert_eq!(EventType::parse(event_type.code()), Ok(event_type));
        }
        assert_eq!(EventType::parse("EVENT_TYPE_AID"), Ok(EventType::Aid));
        assert!(EventType::parse("EVENT_TYPE_UNSPECIFIED").is_err());
        assert!(EventType::parse("HUG").is_err());
    }

    #[test]
    fn intensity_is_bounded() {
        assert!(Intensity::parse(10.0).is_ok());
        assert!(Intensity::parse(-10.5).is_err());
        assert!(Intensity::parse(f64::NAN).is_err());
    }
}
