//! Argument parsing and dispatch for the `duro` binary.

mod commands;
mod creator;
mod demo;
mod digest;
mod init;
mod migrate;
mod output;
mod up;

use clap::{Parser, Subcommand, ValueEnum};
use duro::config::{Config, ConfigError};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "duro",
    version,
    about = "Keeps a folder of SQL select files materialized as tables, each on its own interval."
)]
pub struct Cli {
    /// Configuration file (default: $DURO_CONFIG, then ./duro.toml)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log lines as text or as JSON objects (one per line), on stderr; DURO_LOG sets the level
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: TextOrJson,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Dot,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write duro.toml and an example views directory
    Init {
        /// Folder to initialise (default: the current folder)
        dir: Option<PathBuf>,
    },
    /// Run every scheduler check and print the diagnostics
    Check {
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Print the dependency graph of the views directory
    Graph {
        #[arg(long, value_enum, default_value = "text")]
        format: GraphFormat,
    },
    /// Check the views directory and record it in the state database
    Schedule,
    /// Show what is due now and why, in build order
    Plan {
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Show tables with interval, last built, mean duration and state; or one table's runs
    Status {
        /// One table (schema.table)
        table: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Build due tables: a daemon polling every poll_seconds, or once with --once
    Create {
        /// Build what is due now and exit (exit 1 if a run failed)
        #[arg(long)]
        once: bool,
        /// Tables built at the same time (default: creator.concurrency)
        #[arg(long, value_name = "N")]
        concurrency: Option<u32>,
    },
    /// Rebuild a table now, whatever its age (with --tree: everything it depends on first)
    Run {
        table: String,
        #[arg(long)]
        tree: bool,
    },
    /// Serve the web UI and its JSON API
    Serve {
        /// Address to listen on (default: web.bind)
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Mark a table (or its whole tree) for rebuilding by the creator
    Force {
        table: String,
        /// Also force every table it depends on, transitively
        #[arg(long)]
        tree: bool,
    },
    /// Scheduler on every change of the views directory, creator and web UI in one process
    Up {
        /// Address the web UI listens on (default: web.bind)
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Create an example project on the embedded warehouse, build it once and serve the UI
    Demo {
        /// Folder for the example project (default: ./duro-demo)
        dir: Option<PathBuf>,
        /// Address the web UI listens on (default: 127.0.0.1:8080)
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Post the digest of the last 24 hours to the Slack log channel
    Digest,
    /// Print a shell completion script (e.g. `duro completions bash > /etc/bash_completion.d/duro`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page in roff (e.g. `duro man > /usr/local/share/man/man1/duro.1`)
    Man,
    /// Move from the earlier Python duro: its config.conf becomes duro.toml, its history is imported
    Migrate {
        /// The earlier duro's config.conf
        #[arg(value_name = "CONFIG.conf")]
        conf: Option<PathBuf>,
        /// Folder to write duro.toml in (default: the current folder)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print the secrets' values in the export lines instead of ****
        #[arg(long)]
        show_secrets: bool,
        /// Also import the earlier duro's history from its database ([main] db of CONFIG.conf)
        #[arg(long)]
        state: bool,
        /// Import the history from this database (into --config's state when no CONFIG.conf is given)
        #[arg(long, value_name = "PATH")]
        import_db: Option<PathBuf>,
    },
}

/// A failure with its exit code and a message for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Failure {
        Failure::new(2, format!("configuration error: {e}"))
    }
}

impl From<duro::state::StateError> for Failure {
    fn from(e: duro::state::StateError) -> Failure {
        Failure::new(1, e.to_string())
    }
}

impl From<duro::catalog::CatalogError> for Failure {
    fn from(e: duro::catalog::CatalogError) -> Failure {
        Failure::new(2, e.to_string())
    }
}

fn load_config(explicit: Option<PathBuf>) -> Result<Config, Failure> {
    let (path, named) = match explicit {
        Some(path) => (path, true),
        None => match std::env::var_os("DURO_CONFIG").filter(|v| !v.is_empty()) {
            Some(path) => (PathBuf::from(path), true),
            None => (PathBuf::from("duro.toml"), false),
        },
    };
    let config = Config::load(&path, named, std::env::vars())?;
    for warning in &config.warnings {
        output::print_warning(warning);
    }
    Ok(config)
}

/// The current time, or `DURO_NOW` (RFC 3339) when set, so tests can fix the clock.
fn now() -> Result<jiff::Timestamp, Failure> {
    match std::env::var("DURO_NOW") {
        Ok(text) if !text.is_empty() => text.parse().map_err(|e| {
            Failure::new(2, format!("DURO_NOW={text:?} is not an RFC 3339 time: {e}"))
        }),
        _ => Ok(jiff::Timestamp::now()),
    }
}

fn init_logging(format: TextOrJson) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("DURO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Libraries that log request URLs and statement texts at debug level would print the webhook
    // URL or a COPY statement's S3 credentials: they stay at info, whatever DURO_LOG says.
    // tokio-postgres logs every server NOTICE ("table … does not exist, skipping") at info:
    // it stays at warn.
    for quiet in ["ureq=info", "ureq_proto=info", "tokio_postgres=warn"] {
        filter = filter.add_directive(quiet.parse().expect("a valid directive"));
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        TextOrJson::Text => builder.with_ansi(output::color_enabled()).try_init(),
        TextOrJson::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// Commands that print a report and exit: piped into `head`, they stop quietly when it has read
/// enough, as other Unix tools do.
fn prints_and_exits(command: &Command) -> bool {
    !matches!(
        command,
        Command::Create { .. }
            | Command::Run { .. }
            | Command::Serve { .. }
            | Command::Up { .. }
            | Command::Demo { .. }
    )
}

/// Restores SIGPIPE's default (Rust ignores it, so `println!` to a closed pipe panics). Not for
/// the creator and the server: a processor that exits before reading all its input must not stop
/// duro.
fn quiet_on_closed_stdout() {
    // SAFETY: setting a signal's disposition to its default, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    init_logging(cli.log_format);
    if prints_and_exits(&cli.command) {
        quiet_on_closed_stdout();
    }
    // SQL parsing recurses once per nesting level; the pool's threads get room for the deepest
    // query the parser accepts (the memory is only reserved, not used).
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(64 << 20)
        .build_global();
    match run(cli) {
        Ok(code) => code,
        Err(failure) => {
            output::print_error(&failure.message);
            failure.code
        }
    }
}

fn run(cli: Cli) -> Result<i32, Failure> {
    if let Command::Init { dir } = &cli.command {
        return init::run(dir.clone().unwrap_or_else(|| PathBuf::from(".")));
    }
    if let Command::Demo { dir, bind } = &cli.command {
        return demo::run(
            dir.clone().unwrap_or_else(|| PathBuf::from("duro-demo")),
            bind.as_deref(),
        );
    }
    match &cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "duro", &mut std::io::stdout());
            return Ok(0);
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command)
                .render(&mut std::io::stdout())
                .map_err(|e| Failure::new(1, format!("cannot write the manual page: {e}")))?;
            return Ok(0);
        }
        _ => {}
    }
    if let Command::Migrate {
        conf,
        out,
        show_secrets,
        state,
        import_db,
    } = cli.command
    {
        let options = migrate::Options {
            conf,
            out,
            show_secrets,
            state,
            import_db,
            config: cli.config,
        };
        return migrate::run(options, now()?);
    }
    let config = load_config(cli.config)?;
    match cli.command {
        Command::Init { .. }
        | Command::Demo { .. }
        | Command::Migrate { .. }
        | Command::Completions { .. }
        | Command::Man => {
            unreachable!("handled above")
        }
        Command::Check { format } => commands::check(&config, format),
        Command::Graph { format } => commands::graph(&config, format),
        Command::Schedule => commands::schedule(&config, now()?),
        Command::Plan { format } => commands::plan(&config, format, now()?),
        Command::Status { table, format } => commands::status(&config, table, format, now()?),
        Command::Force { table, tree } => commands::force(&config, &table, tree),
        Command::Create { once, concurrency } => {
            creator::create(&config, once, concurrency, now()?)
        }
        Command::Run { table, tree } => creator::run(&config, &table, tree),
        Command::Serve { bind } => creator::serve(&config, bind.as_deref()),
        Command::Up { bind } => up::run(&config, bind.as_deref()),
        Command::Digest => digest::run(&config, now()?),
    }
}
