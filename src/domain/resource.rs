//! What trips, officials and agenda items have in common as resources: a collection they are
//! named in, and a record (the shape clients send and the store keeps) they parse from. The
//! api's standard methods and the store's documents both build on this one trait.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::names::{AgendaItems, Collection, Officials, Trips};
use super::{
    AgendaItem, AgendaItemRecord, Official, OfficialRecord, ResourceId, Trip, TripRecord,
    Violations,
};

pub trait Resource: Sized + Send + Sync + 'static {
    /// The collection its names are in, e.g. `trips`.
    type Collection: Collection;
    /// The record it is read from and written as.
    type Record: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Parses a record, naming every field that is wrong.
    fn from_record(record: &Self::Record) -> Result<Self, Violations>;
    fn to_record(&self) -> Self::Record;

    /// The resource name of the resource with this id, e.g. `trips/final-trip`.
    fn resource_name(id: &ResourceId) -> String {
        format!("{}/{id}", Self::Collection::SEGMENT)
    }
}

impl Resource for Trip {
    type Collection = Trips;
    type Record = TripRecord;
    fn from_record(record: &TripRecord) -> Result<Self, Violations> {
        Trip::parse(record)
    }
    fn to_record(&self) -> TripRecord {
        Trip::to_record(self)
    }
}

impl Resource for Official {
    type Collection = Officials;
    type Record = OfficialRecord;
    fn from_record(record: &OfficialRecord) -> Result<Self, Violations> {
        Official::parse(record)
    }
    fn to_record(&self) -> OfficialRecord {
        Official::to_record(self)
    }
}

impl Resource for AgendaItem {
    type Collection = AgendaItems;
    type Record = AgendaItemRecord;
    fn from_record(record: &AgendaItemRecord) -> Result<Self, Violations> {
        AgendaItem::parse(record)
    }
    fn to_record(&self) -> AgendaItemRecord {
        AgendaItem::to_record(self)
    }
}
