//! Plain Rust types for what briefing stores. No I/O and no gRPC: values here are valid by construction.

pub mod activity;
pub mod agenda;
pub mod event;
pub mod names;
pub mod official;
pub mod pair;
pub mod resource;
pub mod search;
pub mod source;
pub mod stored;
pub mod subscription;
pub mod token;
pub mod trip;
pub mod values;
pub mod violations;

pub use activity::DailyActivity;
pub use agenda::{AgendaItem, AgendaItemRecord, ItemStatus, pairs};
pub use event::{EventType, Intensity, QuadClass};
pub use names::{AgendaItemName, Name, OfficialName, ResourceId, TripName};
pub use official::{Official, OfficialRecord, Role, RoleState};
pub use pair::CountryPair;
pub use resource::Resource;
pub use search::SearchQuery;
pub use stored::Stored;
pub use trip::{Trip, TripRecord, TripState};
pub use values::CountryCode;
pub use violations::{FieldViolation, Violations};
