//! Resource ids and names: `trips/{id}`, `officials/{id}`, `agendaItems/{id}`.

use std::fmt;
use std::marker::PhantomData;

use super::violations::echo;

/// A resource id as AIP-122 allows it here: lowercase letters, digits and `-`, 1 to 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(String);

impl ResourceId {
    pub const MAX_LEN: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.len() > Self::MAX_LEN {
            return Err(format!(
                "must be at most {} characters, got {}",
                Self::MAX_LEN,
                raw.len()
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
        {
            return Err(format!(
                "may hold only lowercase letters, digits and '-', found {bad:?}"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A fresh server-chosen id: a UUIDv7, so ids sort roughly by creation time.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A kind of resource and the collection segment of its names.
pub trait Collection: Send + Sync + 'static {
    const SEGMENT: &'static str;
    /// What one resource is called in messages, with its article, e.g. "a trip".
    const NOUN: &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trips;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Officials;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgendaItems;

impl Collection for Trips {
    const SEGMENT: &'static str = "trips";
    const NOUN: &'static str = "a trip";
}
impl Collection for Officials {
    const SEGMENT: &'static str = "officials";
    const NOUN: &'static str = "an official";
}
impl Collection for AgendaItems {
    const SEGMENT: &'static str = "agendaItems";
    const NOUN: &'static str = "an agenda item";
}

/// A resource name `{collection}/{id}` of one collection.
pub struct Name<C: Collection> {
    id: ResourceId,
    collection: PhantomData<C>,
}

pub type TripName = Name<Trips>;
pub type OfficialName = Name<Officials>;
pub type AgendaItemName = Name<AgendaItems>;

impl<C: Collection> Name<C> {
    pub fn new(id: ResourceId) -> Self {
        Self {
            id,
            collection: PhantomData,
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err(format!(
                "must name {}, like {}/example-id",
                C::NOUN,
                C::SEGMENT
            ));
        }
        let Some(id) = raw
            .strip_prefix(C::SEGMENT)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return Err(format!(
                "{} is not {} name: expected {}/{{id}}",
                echo(raw),
                C::NOUN,
                C::SEGMENT
            ));
        };
        ResourceId::parse(id)
            .map(Self::new)
            .map_err(|problem| format!("{} has a bad id: {problem}", echo(raw)))
    }

    pub fn id(&self) -> &ResourceId {
        &self.id
    }
}

impl<C: Collection> Clone for Name<C> {
    fn clone(&self) -> Self {
        Self::new(self.id.clone())
    }
}
impl<C: Collection> PartialEq for Name<C> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<C: Collection> Eq for Name<C> {}
impl<C: Collection> std::hash::Hash for Name<C> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}
impl<C: Collection> fmt::Debug for Name<C> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{self}")
    }
}
impl<C: Collection> fmt::Display for Name<C> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", C::SEGMENT, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_contract() {
        assert!(ResourceId::parse("blinken-2025-01").is_ok());
        assert!(ResourceId::parse(&"a".repeat(63)).is_ok());
        assert!(ResourceId::parse(&"a".repeat(64)).is_err());
        assert!(ResourceId::parse("").is_err());
        assert!(ResourceId::parse("Upper").is_err());
        assert!(ResourceId::parse("with_underscore").is_err());
        assert!(ResourceId::parse("ünï").is_err());
    }

    #[test]
    fn names_need_their_collection() {
        let name = TripName::parse("trips/seoul").expect("valid");
        assert_eq!(name.to_string(), "trips/seoul");
        assert!(TripName::parse("officials/seoul").is_err());
        assert!(TripName::parse("trips/").is_err());
        assert!(TripName::parse("trips/a/b").is_err());
        assert!(AgendaItemName::parse("agendaItems/x-1").is_ok());
        assert!(ResourceId::generate().as_str().len() <= ResourceId::MAX_LEN);
    }
}
