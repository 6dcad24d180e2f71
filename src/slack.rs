//! Slack notifications through an incoming webhook (SPEC §12). Failed runs, scheduler errors
//! and an unreachable warehouse go to the failure channel, what a schedule changed to the success
//! channel, and `duro digest` to the log channel. The same message (channel and text) is posted
//! at most once per ten minutes, across processes, by claiming it in the state database first.
//! Posting never fails duro: a webhook that does not answer is logged (without its URL, which
//! is a secret) and forgotten.

use crate::config::{Secret, SlackConfig};
use crate::diagnostics::Diagnostic;
use crate::listing;
use crate::schedule::{Outcome as ScheduleOutcome, ScheduleError};
use crate::state::{Outcome, ScheduleChanges, StateError, Store, WindowStats, to_millis};
use jiff::Timestamp;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The same message is not posted again within this period.
pub const QUIET: Duration = Duration::from_secs(600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest error text quoted in a message; Slack itself cuts messages far later.
const MAX_ERROR_CHARS: usize = 1500;
/// Longest message text sent, in characters after Slack's escaping: Slack refuses messages
/// past about 40,000 characters. Every list in a message is bounded (see [`crate::listing`]), so
/// only a pathological text (thousands of `&` in an error) ever reaches it.
pub const MAX_TEXT_CHARS: usize = 39_000;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Failure,
    Success,
    Log,
}

/// One notification, before it is addressed and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: Channel,
    pub text: String,
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// The same message went out less than [`QUIET`] ago.
    Duplicate,
    /// The webhook failed; the reason never holds the webhook URL.
    Failed(String),
}

/// Posts messages to the configured webhook.
pub struct Notifier {
    webhook: Secret,
    config: SlackConfig,
    agent: ureq::Agent,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier for `[slack]`, or `None` when no webhook is configured (notifications off).
    pub fn from_config(config: &SlackConfig) -> Option<Notifier> {
        let url = config.webhook_url.expose().trim();
        if url.is_empty() {
            return None;
        }
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(TOTAL_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Some(Notifier {
            webhook: Secret::new(url),
            config: config.clone(),
            agent,
        })
    }

    /// The channel a message goes to: its own setting, else `channel`, else (empty) the
    /// webhook's default.
    pub fn channel_name(&self, channel: Channel) -> &str {
        let own = match channel {
            Channel::Failure => &self.config.failure_channel,
            Channel::Success => &self.config.success_channel,
            Channel::Log => &self.config.log_channel,
        };
        if own.trim().is_empty() {
            self.config.channel.trim()
        } else {
            own.trim()
        }
    }

    /// The JSON body: `text` (escaped for Slack), and `channel`, `username` and `icon_emoji`
    /// when set.
    pub fn payload(&self, message: &Message) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("text".into(), slack_text(&message.text).into());
        for (key, value) in [
            ("channel", self.channel_name(message.channel)),
            ("username", self.config.username.trim()),
            ("icon_emoji", self.config.icon_emoji.trim()),
        ] {
            if !value.is_empty() {
                body.insert(key.into(), value.into());
            }
        }
        serde_json::Value::Object(body)
    }

    /// What de-duplicates a message: a hash of its channel and text.
    pub fn key(&self, message: &Message) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.channel_name(message.channel).as_bytes());
        hasher.update(b"\n");
        hasher.update(message.text.as_bytes());
        format!("slack:{}", hasher.finalize().to_hex())
    }

    /// Posts a message now, without de-duplication. Blocks for at most [`TOTAL_TIMEOUT`].
    pub fn send(&self, message: &Message) -> Result<(), String> {
        let response = self
            .agent
            .post(self.webhook.expose())
            .send_json(self.payload(message))
            .map_err(|e| self.describe(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response
            .into_body()
            .with_config()
            .limit(500)
            .read_to_string()
            .unwrap_or_default();
        Err(self.redact(&format!("HTTP {}: {}", status.as_u16(), body.trim())))
    }

    /// Posts a message unless it went out less than [`QUIET`] ago (claimed in `store`). Blocks:
    /// from async code use [`Notifier::post_async`].
    pub fn post(&self, store: &mut Store, message: &Message, now: Timestamp) -> Delivery {
        let key = self.key(message);
        if !self.claim(store, &key, now) {
            return Delivery::Duplicate;
        }
        let result = self.send(message);
        self.settle(store, &key, now, message, result)
    }

    /// [`Notifier::post`] for async code: the state is locked only to claim (and release) the
    /// message, and the request runs on a blocking thread.
    pub async fn post_async(
        self: &Arc<Self>,
        store: &Mutex<Store>,
        message: Message,
        now: Timestamp,
    ) -> Delivery {
        let key = self.key(&message);
        if !self.claim(&mut lock(store), &key, now) {
            return Delivery::Duplicate;
        }
        let notifier = Arc::clone(self);
        let sent = message.clone();
        let result = tokio::task::spawn_blocking(move || notifier.send(&sent))
            .await
            .unwrap_or_else(|e| Err(format!("the request did not finish: {e}")));
        self.settle(&mut lock(store), &key, now, &message, result)
    }

    /// Claims the message; when the state cannot say, it is sent (better twice than never).
    fn claim(&self, store: &mut Store, key: &str, now: Timestamp) -> bool {
        store
            .claim_notification(key, now, QUIET)
            .unwrap_or_else(|e| {
                tracing::warn!("cannot check whether this Slack message was already sent: {e}");
                true
            })
    }

    /// Logs a failed post and releases its claim, so that a later attempt may send it.
    fn settle(
        &self,
        store: &mut Store,
        key: &str,
        claimed_at: Timestamp,
        message: &Message,
        result: Result<(), String>,
    ) -> Delivery {
        match result {
            Ok(()) => Delivery::Sent,
            Err(reason) => {
                tracing::warn!(
                    "posting to the Slack webhook failed ({} message{}): {reason}",
                    channel_label(message.channel),
                    match self.channel_name(message.channel) {
                        "" => String::new(),
                        name => format!(" for {name}"),
                    },
                );
                if let Err(e) = store.release_notification(key, claimed_at) {
                    tracing::warn!("cannot forget the unsent Slack message: {e}");
                }
                Delivery::Failed(reason)
            }
        }
    }

    /// A request error in words, never with the webhook URL.
    fn describe(&self, error: &ureq::Error) -> String {
        let text = match error {
            ureq::Error::Timeout(what) => format!("no answer in time ({what})"),
            ureq::Error::HostNotFound => "host not found".to_string(),
            ureq::Error::ConnectionFailed => "connection failed".to_string(),
            ureq::Error::Io(e) => format!("{e}"),
            ureq::Error::BadUri(_) => "slack.webhook_url is not a valid URL".to_string(),
            other => other.to_string(),
        };
        self.redact(&text)
    }

    /// Removes the webhook URL, and its path and host, from a text.
    fn redact(&self, text: &str) -> String {
        let url = self.webhook.expose();
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut out = text.replace(url, "***");
        for part in [path, host] {
            if part.len() >= 4 {
                out = out.replace(part, "***");
            }
        }
        out
    }
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Failure => "failure",
        Channel::Success => "success",
        Channel::Log => "log",
    }
}

/// Slack's own escaping of `&`, `<` and `>` in message text.
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message text as sent: escaped, and cut to [`MAX_TEXT_CHARS`] (never inside an escape).
fn slack_text(text: &str) -> String {
    const CUT: &str = "\n… (cut: the message was too long for Slack)";
    let escaped_len = |c: char| match c {
        '&' => 5,
        '<' | '>' => 4,
        _ => 1,
    };
    if text.chars().map(escaped_len).sum::<usize>() <= MAX_TEXT_CHARS {
        return slack_escape(text);
    }
    let room = MAX_TEXT_CHARS - CUT.chars().count();
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += escaped_len(c);
        if used > room {
            break;
        }
        end = i + c.len_utf8();
    }
    format!("{}{CUT}", slack_escape(&text[..end]))
}

fn plural(n: i64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// A run that did not succeed, for the failure channel; `None` for successes and for runs
/// cancelled because duro was stopped.
pub fn failed_run(
    table: &str,
    outcome: Outcome,
    error: Option<&str>,
    failed_tests: &[String],
) -> Option<Message> {
    if matches!(outcome, Outcome::Success | Outcome::Cancelled) {
        return None;
    }
    let mut text = format!("Run of {table} failed ({}).", outcome.as_str());
    if let Some(error) = error.filter(|e| !e.trim().is_empty()) {
        text.push_str(&format!(
            "\nError: {}",
            listing::shorten(error, MAX_ERROR_CHARS)
        ));
    }
    if !failed_tests.is_empty() {
        text.push_str(&format!("\nFailed tests: {}", listing::names(failed_tests)));
    }
    Some(Message {
        channel: Channel::Failure,
        text,
    })
}

/// The warehouse could not be reached. The text names no table, so that the runs of every table
/// failing at once give one message.
pub fn warehouse_unreachable(error: &str) -> Message {
    Message {
        channel: Channel::Failure,
        text: format!(
            "Warehouse unreachable: {}\nRuns fail until it answers again.",
            listing::shorten(error, MAX_ERROR_CHARS)
        ),
    }
}

/// What a schedule changed, for the success channel; `None` when nothing did.
pub fn schedule_changes(changes: &ScheduleChanges) -> Option<Message> {
    let lines: Vec<String> = [
        ("New tables", &changes.new),
        ("Updated tables", &changes.updated),
        ("Removed tables", &changes.removed),
    ]
    .into_iter()
    .filter(|(_, names)| !names.is_empty())
    .map(|(label, names)| listing::labelled(label, names))
    .collect();
    (!lines.is_empty()).then(|| Message {
        channel: Channel::Success,
        text: lines.join("\n"),
    })
}

/// A refused schedule, for the failure channel: the errors, file and line first.
pub fn schedule_errors(diagnostics: &[Diagnostic]) -> Message {
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    let mut text = format!(
        "Schedule failed: {}; nothing was scheduled and the state is unchanged.",
        plural(errors.len() as i64, "error")
    );
    let (shown, hidden) = listing::head(&errors);
    for d in shown {
        text.push('\n');
        text.push_str(&listing::shorten(&d.to_string(), 300));
    }
    if hidden > 0 {
        text.push_str(&format!(
            "\n… {} (`duro check` lists them all)",
            listing::and_more(hidden)
        ));
    }
    Message {
        channel: Channel::Failure,
        text,
    }
}

/// The message a schedule's result calls for, if any.
pub fn schedule_message(result: &Result<ScheduleOutcome, ScheduleError>) -> Option<Message> {
    match result {
        Ok(ScheduleOutcome::Scheduled { changes, .. }) => schedule_changes(changes),
        Ok(ScheduleOutcome::NothingChanged { .. }) => None,
        Err(ScheduleError::Checks(diagnostics)) => Some(schedule_errors(diagnostics)),
        Err(ScheduleError::Catalog(e)) => Some(Message {
            channel: Channel::Failure,
            text: format!("Schedule failed: {e}"),
        }),
        // The state database is what de-duplication needs; its error is printed by the caller.
        Err(ScheduleError::State(_)) => None,
    }
}

/// The hook after a schedule (`duro schedule`, `duro up`): posts what it changed or why it was
/// refused, when Slack is configured. Blocks for the request.
pub fn after_schedule(
    config: &SlackConfig,
    store: &mut Store,
    result: &Result<ScheduleOutcome, ScheduleError>,
    now: Timestamp,
) -> Option<Delivery> {
    let notifier = Notifier::from_config(config)?;
    let message = schedule_message(result)?;
    Some(notifier.post(store, &message, now))
}

/// The last 24 hours in numbers, for `duro digest`.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub hours: i64,
    pub stats: WindowStats,
    /// Tables scheduled now (removed ones excluded).
    pub scheduled: i64,
    /// The slowest tables: (name, longest successful run in seconds).
    pub slowest: Vec<(String, f64)>,
    /// Tables with failed runs: (name, failed runs).
    pub failing: Vec<(String, i64)>,
}

impl Digest {
    /// The window of `hours` ending at `now`.
    pub fn compute(store: &Store, now: Timestamp, hours: i64) -> Result<Digest, StateError> {
        let until = to_millis(now);
        let since = until - hours * 3_600_000;
        Ok(Digest {
            hours,
            stats: store.window_stats(since, Some(until))?,
            scheduled: store.scheduled_table_count()?,
            slowest: store.slowest_tables(since, until, 3)?,
            failing: store.failing_tables(since, until)?,
        })
    }

    /// The digest as text: the web UI's header line, then details.
    pub fn text(&self) -> String {
        let s = &self.stats;
        let mut lines = vec![
            format!(
                "Last {}h: {}, {}, {}. Load: {}%",
                self.hours,
                plural(s.tables, "table"),
                plural(s.updates, "update"),
                plural(s.failed, "failed run"),
                s.load_percent(self.hours * 3_600_000)
            ),
            format!("Scheduled: {}", plural(self.scheduled, "table")),
        ];
        if !self.slowest.is_empty() {
            let slowest: Vec<String> = self
                .slowest
                .iter()
                .map(|(name, seconds)| format!("{name} ({})", seconds_text(*seconds)))
                .collect();
            lines.push(format!("Slowest: {}", listing::names(&slowest)));
        }
        if !self.failing.is_empty() {
            let failing: Vec<String> = self
                .failing
                .iter()
                .map(|(name, n)| format!("{name} ({})", plural(*n, "failure")))
                .collect();
            lines.push(listing::labelled("Failing", &failing));
        }
        lines.join("\n")
    }

    pub fn message(&self) -> Message {
        Message {
            channel: Channel::Log,
            text: self.text(),
        }
    }
}

fn seconds_text(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        crate::plan::human_duration(seconds.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(webhook: &str) -> SlackConfig {
        SlackConfig {
            webhook_url: Secret::new(webhook),
            channel: "#duro".into(),
            failure_channel: "#alerts".into(),
            ..SlackConfig::default()
        }
    }

    fn notifier() -> Notifier {
        Notifier::from_config(&config("https://hooks.example/services/T0/B0/xyzzy")).unwrap()
    }

    #[test]
    fn no_webhook_means_no_notifications() {
        assert!(Notifier::from_config(&config("")).is_none());
        assert!(Notifier::from_config(&config("  ")).is_none());
    }

    #[test]
    fn channels_fall_back_to_the_default_channel() {
        let n = notifier();
        assert_eq!(n.channel_name(Channel::Failure), "#alerts");
        assert_eq!(n.channel_name(Channel::Success), "#duro");
        let mut c = config("https://x.example/y");
        c.channel = String::new();
        let n = Notifier::from_config(&c).unwrap();
        assert_eq!(n.channel_name(Channel::Log), "");
        let body = n.payload(&Message {
            channel: Channel::Log,
            text: "a < b & c".into(),
        });
        assert_eq!(
            body,
            serde_json::json!({"text": "a &lt; b &amp; c", "username": "duro", "icon_emoji": ":card_file_box:"})
        );
    }

    #[test]
    fn the_key_depends_on_channel_and_text() {
        let n = notifier();
        let m = |channel, text: &str| Message {
            channel,
            text: text.into(),
        };
        let key = n.key(&m(Channel::Failure, "x"));
        assert_eq!(key, n.key(&m(Channel::Failure, "x")));
        assert_ne!(key, n.key(&m(Channel::Failure, "y")));
        assert_ne!(key, n.key(&m(Channel::Success, "x")));
    }

    #[test]
    fn errors_never_show_the_webhook() {
        let n = notifier();
        let text = n.redact("bad uri: https://hooks.example/services/T0/B0/xyzzy and services/T0/B0/xyzzy at hooks.example");
        assert!(
            !text.contains("xyzzy") && !text.contains("hooks.example"),
            "{text}"
        );
        assert!(!format!("{n:?}").contains("xyzzy"));
    }

    #[test]
    fn failed_runs_name_the_table_error_and_tests() {
        let tests = vec!["positive".to_string(), "unique_ids".to_string()];
        let m = failed_run(
            "marts.x",
            Outcome::TestsFailed,
            Some("tests failed for marts.x: positive, unique_ids"),
            &tests,
        )
        .unwrap();
        assert_eq!(m.channel, Channel::Failure);
        assert_eq!(
            m.text,
            "Run of marts.x failed (tests_failed).\nError: tests failed for marts.x: positive, unique_ids\nFailed tests: positive, unique_ids"
        );
        assert!(failed_run("marts.x", Outcome::Success, None, &[]).is_none());
        assert!(failed_run("marts.x", Outcome::Cancelled, Some("stopped"), &[]).is_none());
        let long = "e".repeat(5000);
        let m = failed_run("marts.x", Outcome::Failed, Some(&long), &[]).unwrap();
        assert!(m.text.chars().count() < 1600);
    }

    #[test]
    fn schedule_changes_omit_empty_lines() {
        let changes = ScheduleChanges {
            new: vec!["a.x".into(), "a.y".into()],
            updated: vec![],
            removed: vec!["a.z".into()],
        };
        let m = schedule_changes(&changes).unwrap();
        assert_eq!(m.channel, Channel::Success);
        assert_eq!(m.text, "New tables: a.x, a.y\nRemoved tables: a.z");
        assert!(schedule_changes(&ScheduleChanges::default()).is_none());
        let many = ScheduleChanges {
            updated: (0..40).map(|i| format!("s.t{i}")).collect(),
            ..ScheduleChanges::default()
        };
        let text = schedule_changes(&many).unwrap().text;
        assert!(
            text.starts_with("Updated tables (40): s.t0, s.t1"),
            "{text}"
        );
        assert!(text.ends_with("s.t9 and 30 more"), "{text}");
    }

    #[test]
    fn no_text_sent_is_longer_than_slack_takes() {
        let n = notifier();
        let payload = |text: String| {
            n.payload(&Message {
                channel: Channel::Failure,
                text,
            })["text"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let short = payload("a & b".into());
        assert_eq!(short, "a &amp; b");
        // Every `&` becomes five characters: the cut counts them so, and never splits one.
        let sent = payload("&".repeat(20_000));
        assert!(sent.chars().count() <= MAX_TEXT_CHARS, "{}", sent.len());
        assert!(sent.ends_with("(cut: the message was too long for Slack)"));
        let body = sent.split('\n').next().unwrap();
        assert!(body.len().is_multiple_of(5) && body.replace("&amp;", "").is_empty());
        let sent = payload("x".repeat(MAX_TEXT_CHARS));
        assert_eq!(sent.chars().count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn schedule_errors_list_errors_only() {
        let mut error = Diagnostic::error("cycle: a.x, a.y");
        error.file = Some("a/x.sql".into());
        error.line = Some(3);
        let diagnostics = vec![error, Diagnostic::warning("unknown key")];
        let m = schedule_errors(&diagnostics);
        assert_eq!(m.channel, Channel::Failure);
        assert!(
            m.text.starts_with("Schedule failed: 1 error;"),
            "{}",
            m.text
        );
        assert!(m.text.contains("a/x.sql:3"), "{}", m.text);
        assert!(!m.text.contains("unknown key"), "{}", m.text);
    }

    #[test]
    fn the_digest_reads_like_the_web_header() {
        let digest = Digest {
            hours: 24,
            stats: WindowStats {
                tables: 2,
                updates: 5,
                failed: 1,
                busy_ms: 864_000,
            },
            scheduled: 3,
            slowest: vec![("a.x".into(), 12.34), ("a.y".into(), 125.0)],
            failing: vec![("a.z".into(), 1)],
        };
        assert_eq!(
            digest.text(),
            "Last 24h: 2 tables, 5 updates, 1 failed run. Load: 1%\nScheduled: 3 tables\nSlowest: a.x (12.3s), a.y (2m)\nFailing: a.z (1 failure)"
        );
        assert_eq!(digest.message().channel, Channel::Log);
    }
}
