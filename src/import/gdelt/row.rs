//! One line of a GDELT 2.0 event export: 61 tab-separated columns, no header, no quoting
//! (a `"` in a name is just a character), empty fields for what GDELT does not know.
//! Column numbers are those of GDELT's event codebook (V2.0), from 0.

/// The columns a row has.
pub const COLUMNS: usize = 61;

const GLOBAL_EVENT_ID: usize = 0;
const SQL_DATE: usize = 1;
const ACTOR1_NAME: usize = 6;
const ACTOR1_COUNTRY: usize = 7;
const ACTOR1_TYPE1: usize = 12;
const ACTOR2_NAME: usize = 16;
const ACTOR2_COUNTRY: usize = 17;
const ACTOR2_TYPE1: usize = 22;
const IS_ROOT_EVENT: usize = 25;
const EVENT_CODE: usize = 26;
const EVENT_BASE_CODE: usize = 27;
const EVENT_ROOT_CODE: usize = 28;
const GOLDSTEIN_SCALE: usize = 30;
const NUM_MENTIONS: usize = 31;
const NUM_SOURCES: usize = 32;
const NUM_ARTICLES: usize = 33;
const ACTION_GEO_FULL_NAME: usize = 52;
const DATE_ADDED: usize = 59;
const SOURCE_URL: usize = 60;

/// The columns of a row that the import reads, borrowed from the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    pub global_event_id: u64,
    /// `YYYYMMDD`, checked to be a calendar day.
    pub date: chrono::NaiveDate,
    pub actor1_name: &'a str,
    pub actor1_country: &'a str,
    pub actor1_type: &'a str,
    pub actor2_name: &'a str,
    pub actor2_country: &'a str,
    pub actor2_type: &'a str,
    pub is_root_event: bool,
    pub event_code: &'a str,
    pub event_base_code: &'a str,
    pub event_root_code: &'a str,
    pub goldstein_scale: f64,
    pub num_mentions: u32,
    pub num_sources: u32,
    pub num_articles: u32,
    pub action_place: &'a str,
    pub date_added: chrono::DateTime<chrono::Utc>,
    pub source_url: &'a str,
}

impl<'a> Row<'a> {
    /// Reads one line (without its line ending). The error says which column is wrong.
    pub fn parse(line: &'a str) -> Result<Self, String> {
        let columns: Vec<&str> = line.split('\t').collect();
        if columns.len() != COLUMNS {
            return Err(format!(
                "expected {COLUMNS} tab-separated columns, found {}",
                columns.len()
            ));
        }
        let column = |index: usize| columns[index].trim();
        Ok(Self {
            global_event_id: number(column(GLOBAL_EVENT_ID), "GLOBALEVENTID")?,
            date: chrono::NaiveDate::parse_from_str(column(SQL_DATE), "%Y%m%d").map_err(|_| {
                format!(
                    "SQLDATE {:?} is not a day written YYYYMMDD",
                    shorten(column(SQL_DATE))
                )
            })?,
            actor1_name: column(ACTOR1_NAME),
            actor1_country: column(ACTOR1_COUNTRY),
            actor1_type: column(ACTOR1_TYPE1),
            actor2_name: column(ACTOR2_NAME),
            actor2_country: column(ACTOR2_COUNTRY),
            actor2_type: column(ACTOR2_TYPE1),
            is_root_event: match column(IS_ROOT_EVENT) {
                "1" => true,
                "0" | "" => false,
                other => {
                    return Err(format!("IsRootEvent {:?} is not 0 or 1", shorten(other)));
                }
            },
            event_code: cameo_code(column(EVENT_CODE), "EventCode")?,
            event_base_code: cameo_code(column(EVENT_BASE_CODE), "EventBaseCode")?,
            event_root_code: cameo_code(column(EVENT_ROOT_CODE), "EventRootCode")?,
            goldstein_scale: match column(GOLDSTEIN_SCALE).parse::<f64>() {
                Ok(value) if (-10.0..=10.0).contains(&value) => value,
                _ => {
                    return Err(format!(
                        "GoldsteinScale {:?} is not a number from -10 to 10",
                        shorten(column(GOLDSTEIN_SCALE))
                    ));
                }
            },
            num_mentions: count(column(NUM_MENTIONS), "NumMentions")?,
            num_sources: count(column(NUM_SOURCES), "NumSources")?,
            num_articles: count(column(NUM_ARTICLES), "NumArticles")?,
            action_place: column(ACTION_GEO_FULL_NAME),
            date_added: chrono::NaiveDateTime::parse_from_str(column(DATE_ADDED), "%Y%m%d%H%M%S")
                .map(|added| added.and_utc())
                .map_err(|_| {
                    format!(
                        "DATEADDED {:?} is not a time written YYYYMMDDHHMMSS",
                        shorten(column(DATE_ADDED))
                    )
                })?,
            source_url: column(SOURCE_URL),
        })
    }
}

fn number(raw: &str, column: &str) -> Result<u64, String> {
    raw.parse()
        .map_err(|_| format!("{column} {:?} is not a whole number", shorten(raw)))
}

/// Counts are empty on some rows GDELT wrote before it counted them: read as 0.
fn count(raw: &str, column: &str) -> Result<u32, String> {
    if raw.is_empty() {
        return Ok(0);
    }
    raw.parse()
        .map_err(|_| format!("{column} {:?} is not a count", shorten(raw)))
}

/// CAMEO codes are 2 to 4 digits, kept as text: `010` and `10` are different codes.
fn cameo_code<'a>(raw: &'a str, column: &str) -> Result<&'a str, String> {
    if (2..=4).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) {
        Ok(raw)
    } else {
        Err(format!(
            "{column} {:?} is not a CAMEO code of 2 to 4 digits",
            shorten(raw)
        ))
    }
}

/// A value echoed in an error, cut to 40 characters.
fn shorten(raw: &str) -> String {
    const MAX: usize = 40;
    if raw.chars().count() <= MAX {
        raw.to_owned()
    } else {
        let mut cut: String = raw.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}
