//! What every backend stores of a resource: a JSON record as the body (the record of its
//! [`Resource`]), and the columns its filters need beside it.

use crate::domain::{AgendaItem, Official, Resource, Trip};

/// A column value beside the body, kept for filters.
pub(crate) enum Column {
    Text(String),
    MaybeText(Option<String>),
    MaybeInt(Option<i64>),
}

/// A resource as a table row: what the store adds to the domain's [`Resource`].
pub(crate) trait Document: Resource {
    const TABLE: &'static str;
    /// Filter columns of the main table, in a fixed order.
    fn columns(&self) -> Vec<(&'static str, Column)>;
}

impl Document for Trip {
    const TABLE: &'static str = "trips";
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
    const TABLE: &'static str = "officials";
    fn columns(&self) -> Vec<(&'static str, Column)> {
        vec![
            ("country", Column::Text(self.country.to_string())),
            ("search_text", Column::Text(self.search_text())),
        ]
    }
}

impl Document for AgendaItem {
    const TABLE: &'static str = "agenda_items";
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
