//! What every backend stores of a resource: a JSON record as the body, and the columns its
//! filters need beside it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::names::{AgendaItems, Collection, Officials, Trips};
use crate::domain::{
    AgendaItem, AgendaItemRecord, Official, OfficialRecord, ResourceId, Trip, TripRecord,
    Violations,
};

/// A column value beside the body, kept for filters.
pub(crate) enum Column {
    Text(String),
    MaybeText(Option<String>),
    MaybeInt(Option<i64>),
}

pub(crate) trait Document: Sized + Send + Sync + 'static {
    type Collection: Collection;
    type Record: Serialize + DeserializeOwned;
    const TABLE: &'static str;
    fn to_record(&self) -> Self::Record;
    fn from_record(record: &Self::Record) -> Result<Self, Violations>;
    /// Filter columns of the main table, in a fixed order.
    fn columns(&self) -> Vec<(&'static str, Column)>;

    fn resource_name(id: &ResourceId) -> String {
        format!("{}/{id}", Self::Collection::SEGMENT)
    }
}

impl Document for Trip {
    type Collection = Trips;
    type Record = TripRecord;
    const TABLE: &'static str = "trips";
    fn to_record(&self) -> TripRecord {
        Trip::to_record(self)
    }
    fn from_record(record: &TripRecord) -> Result<Self, Violations> {
        Trip::parse(record)
    }
    fn columns(&self) -> Vec<(&'static str, Column)> {
        let date = |date: Option<chrono::NaiveDate>| {
            date.map(crate::domain::values::format_date)
                .unwrap_or_default()
        };
        vec![
            ("traveler", Column::Text(self.traveler.to_string())),
            ("first_date", Column::Text(date(self.first_date()))),
            ("last_date", Column::Text(date(self.last_date()))),
        ]
    }
}

impl Document for Official {
    type Collection = Officials;
    type Record = OfficialRecord;
    const TABLE: &'static str = "officials";
    fn to_record(&self) -> OfficialRecord {
        Official::to_record(self)
    }
    fn from_record(record: &OfficialRecord) -> Result<Self, Violations> {
        Official::parse(record)
    }
    fn columns(&self) -> Vec<(&'static str, Column)> {
        vec![
            ("country", Column::Text(self.country.to_string())),
            ("search_text", Column::Text(self.search_text())),
        ]
    }
}

impl Document for AgendaItem {
    type Collection = AgendaItems;
    type Record = AgendaItemRecord;
    const TABLE: &'static str = "agenda_items";
    fn to_record(&self) -> AgendaItemRecord {
        AgendaItem::to_record(self)
    }
    fn from_record(record: &AgendaItemRecord) -> Result<Self, Violations> {
        AgendaItem::parse(record)
    }
    fn columns(&self) -> Vec<(&'static str, Column)> {
        vec![
            (
                "date",
                Column::Text(crate::domain::values::format_date(self.date)),
            ),
            (
                "trip",
                Column::MaybeText(self.trip.as_ref().map(ToString::to_string)),
            ),
            ("leg", Column::MaybeInt(self.leg.map(i64::from))),
            (
                "event_type",
                Column::Text(self.event_type.code().to_owned()),
            ),
            ("status", Column::Text(self.status.code().to_owned())),
        ]
    }
}
