//! `--log FILE` and `--log-format text|json`, written as runc writes them: containerd's shim
//! reads the last `"level":"error"` line of the JSON log and shows its `msg` to the user.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// RFC 3339 in UTC with nanoseconds, as runc's logrus writes (civil-from-days, H. Hinnant).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

struct Sink {
    out: Mutex<Box<dyn Write + Send>>,
    format: Format,
    max: Level,
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

/// One log line in runc's shape.
pub fn line(format: Format, level: &str, msg: &str, time: SystemTime) -> String {
    match format {
        Format::Json => {
            serde_json::json!({"level": level, "msg": msg, "time": rfc3339(time)}).to_string()
        }
        Format::Text => format!("time=\"{}\" level={level} msg={:?}", rfc3339(time), msg),
    }
}

/// The sink is the whole subscriber: records are one line each and palisade opens no
/// spans, so nothing is kept between calls (a span registry would allocate and fault in
/// tens of KB at every start for nothing).
impl Subscriber for Sink {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}

    // Called only for events `enabled` let through.
    fn event(&self, event: &Event<'_>) {
        let level = *event.metadata().level();
        let mut m = Message::default();
        event.record(&mut m);
        let name = match level {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        let mut text = line(self.format, name, &m.0, SystemTime::now());
        text.push('\n');
        if let Ok(mut out) = self.out.lock() {
            // One write per record: O_APPEND keeps concurrent writers' lines whole.
            let _ = out.write_all(text.as_bytes());
        }
    }
}

/// Where log records go: the `--log` file (opened O_APPEND, close-on-exec) or stderr.
/// Returns whether records go to a file (then errors are also printed plainly to stderr).
pub fn init(path: Option<&Path>, format: Format, debug: bool) -> std::io::Result<bool> {
    let (out, to_file): (Box<dyn Write + Send>, bool) = match path {
        Some(p) if p != Path::new("/dev/stderr") => {
            let f: File = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o640)
                .custom_flags(libc::O_CLOEXEC)
                .open(p)?;
            (Box::new(f), true)
        }
        _ => (Box::new(std::io::stderr()), false),
    };
    let sink = Sink {
        out: Mutex::new(out),
        format,
        max: if debug { Level::DEBUG } else { Level::WARN },
    };
    let _ = tracing::subscriber::set_global_default(sink);
    Ok(to_file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let t = UNIX_EPOCH + Duration::new(1_709_210_096, 5);
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.000000005Z");
    }

    #[test]
    fn json_line_is_runc_shaped() {
        let l = line(Format::Json, "error", "boom \"x\"", UNIX_EPOCH);
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "boom \"x\"");
        assert_eq!(v["time"], "1970-01-01T00:00:00.000000000Z");
    }
}
