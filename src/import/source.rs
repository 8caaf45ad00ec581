//! Reading an import file record by record, in bounded memory: a file or standard input,
//! plain or gzip (told by its first two bytes, not its name), NDJSON line by line or a JSON
//! array element by element. Each record comes with the line it starts on, so a problem is
//! named where an editor finds it.

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use serde::Deserializer as _;
use serde::de::{SeqAccess, Visitor};

use super::Record;

/// How the records of an import file are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON record per line; blank lines are skipped.
    Ndjson,
    /// One JSON array of records.
    Json,
}

/// What a record is read as: the record, or what is wrong with it.
pub type ReadRecord = Result<Record, String>;

const BUFFER: usize = 256 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` (`-` is standard input), unpacking gzip when the data starts with its magic
/// bytes.
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path)?)
    };
    let mut buffered = BufReader::with_capacity(BUFFER, raw);
    if buffered.fill_buf()?.starts_with(&GZIP_MAGIC) {
        // Multi-member: `cat a.gz b.gz` and pigz's output are one stream each.
        let unpacked = MultiGzDecoder::new(buffered);
        return Ok(Box::new(BufReader::with_capacity(BUFFER, unpacked)));
    }
    Ok(Box::new(buffered))
}

/// Hands each record of `input` to `visit` with its 1-based line, in file order, until the
/// input ends or `visit` breaks. A problem that ends the reading (a JSON array broken off, a
/// read that fails) is handed over as the last record.
pub fn for_each_record(
    mut input: Box<dyn BufRead + Send>,
    format: InputFormat,
    visit: impl FnMut(u64, ReadRecord) -> ControlFlow<()>,
) {
    // A record is an object, so NDJSON never starts with `[`: such a file is a JSON array
    // whatever --format says (`briefing import demo.json` works).
    let starts_an_array = input.fill_buf().is_ok_and(|start| {
        start
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|byte| *byte == b'[')
    });
    let format = if starts_an_array {
        InputFormat::Json
    } else {
        format
    };
    match format {
        InputFormat::Ndjson => for_each_line(input, visit),
        InputFormat::Json => for_each_element(input, visit),
    }
}

fn for_each_line(
    mut input: Box<dyn BufRead + Send>,
    mut visit: impl FnMut(u64, ReadRecord) -> ControlFlow<()>,
) {
    let mut line = Vec::new();
    let mut number = 0_u64;
    loop {
        line.clear();
        number += 1;
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) => {
                let _ = visit(number, Err(format!("cannot read on: {error}")));
                return;
            }
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&line);
        let record = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| describe(error.path(), error.inner()))
            .and_then(|record| {
                deserializer
                    .end()
                    .map(|()| record)
                    .map_err(|error| describe_syntax(&error, "after the record"))
            });
        if visit(number, record).is_break() {
            return;
        }
    }
}

fn for_each_element(
    input: Box<dyn BufRead + Send>,
    mut visit: impl FnMut(u64, ReadRecord) -> ControlFlow<()>,
) {
    let starts = Rc::new(LineMarks::default());
    let counted = CountLines {
        inner: input,
        marks: starts.clone(),
    };
    let mut deserializer = serde_json::Deserializer::from_reader(counted);
    let mut stopped = false;
    let elements = Elements {
        marks: starts,
        visit: &mut visit,
        stopped: &mut stopped,
    };
    let read = deserializer
        .deserialize_seq(elements)
        .and_then(|()| deserializer.end());
    if let Err(error) = read
        && !stopped
    {
        let line = u64::try_from(error.line()).unwrap_or(0).max(1);
        let _ = visit(line, Err(describe_syntax(&error, "")));
    }
}

/// Where the reading is: the line of the byte read last, and the line of the first byte of
/// the element being read, once it is known.
#[derive(Default)]
struct LineMarks {
    line: Cell<u64>,
    element_start: Cell<Option<u64>>,
}

impl LineMarks {
    /// The next significant byte (not blank, not a separating comma) starts an element.
    fn await_element(&self) {
        self.element_start.set(None);
    }
}

/// Counts the lines serde_json reads (it reads a byte at a time) and notes where an element
/// starts: serde_json reports lines for its own errors only.
struct CountLines {
    inner: Box<dyn BufRead + Send>,
    marks: Rc<LineMarks>,
}

impl Read for CountLines {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        for &byte in &buffer[..count] {
            if self.marks.element_start.get().is_none()
                && !byte.is_ascii_whitespace()
                && byte != b','
            {
                self.marks
                    .element_start
                    .set(Some(self.marks.line.get() + 1));
            }
            if byte == b'\n' {
                self.marks.line.set(self.marks.line.get() + 1);
            }
        }
        Ok(count)
    }
}

struct Elements<'a, F> {
    marks: Rc<LineMarks>,
    visit: &'a mut F,
    stopped: &'a mut bool,
}

impl<'de, F: FnMut(u64, ReadRecord) -> ControlFlow<()>> Visitor<'de> for Elements<'_, F> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut elements: A) -> Result<(), A::Error> {
        loop {
            self.marks.await_element();
            // Each element is read whole as a value first, so a record of the wrong shape is
            // one bad record and the reading goes on past it.
            let Some(value) = elements.next_element::<serde_json::Value>()? else {
                return Ok(());
            };
            let line = self.marks.element_start.get().unwrap_or(1);
            let record = serde_path_to_error::deserialize(value)
                .map_err(|error| describe(error.path(), error.inner()));
            if (self.visit)(line, record).is_break() {
                *self.stopped = true;
                return Ok(());
            }
        }
    }
}

/// A record that does not deserialize: the field, then what is wrong, without serde_json's
/// position (the line is given beside it).
fn describe(path: &serde_path_to_error::Path, error: &serde_json::Error) -> String {
    let problem = describe_syntax(error, "");
    match path.to_string().as_str() {
        "." | "" => problem,
        field => format!("{field}: {problem}"),
    }
}

fn describe_syntax(error: &serde_json::Error, place: &str) -> String {
    let text = error.to_string();
    let problem = match text.rsplit_once(" at line ") {
        Some((problem, _)) => problem.to_owned(),
        None => text,
    };
    let place = if place.is_empty() {
        String::new()
    } else {
        format!(" {place}")
    };
    if error.is_syntax() || error.is_eof() {
        format!("not JSON: {problem}{place} (column {})", error.column())
    } else {
        format!("{problem}{place}")
    }
}
