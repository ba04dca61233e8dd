//! `p1duo`: the command line over the `agent` library. Nothing else lives here:
//! argument parsing, logging setup and turning outcomes into exit codes.

mod logfmt;

use agent::{AgentError, Config, Outcome};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_CODES: &str = "\
Exit codes:
  0  all in step (or the command succeeded)
  1  could not run (a service unreachable, credentials refused, state database unusable)
  2  bad usage or configuration (nothing was contacted)
  3  ran, but some objects failed (see `p1duo status`)
  4  blocked by a safety limit (review the plan; `approve` or `sync --allow-deletes` to proceed)";

/// Keep Duo Security in step with PingOne: users, administrators, phones,
/// groups and memberships, outbound (PingOne -> Duo) and inbound (Duo -> PingOne).
#[derive(Parser)]
#[command(name = "p1duo", version, about, after_help = EXIT_CODES)]
struct Cli {
    /// Configuration file [default: $P1DUO_CONFIG, else ./p1duo.toml].
    #[arg(long, global = true, value_name = "FILE", env = "P1DUO_CONFIG")]
    config: Option<PathBuf>,
    /// Log format: readable text, or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log level or filter (error, warn, info, debug, trace, or `agent=debug,...`) [default: $RUST_LOG, else warn].
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Test the connection and more: reachability, credentials, Duo permissions,
    /// PingOne role, clock skew, named populations and groups, the state database.
    Check {
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what a sync would do, without writing anything.
    Plan {
        /// Only this rule (enabled or not).
        #[arg(long, value_name = "NAME")]
        rule: Option<String>,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one full cycle of every enabled rule (or one), then print the summary.
    Sync {
        /// Only this rule (enabled or not).
        #[arg(long, value_name = "NAME")]
        rule: Option<String>,
        /// Carry out plans that exceed a safety limit (mass deletes or disables).
        #[arg(long)]
        allow_deletes: bool,
        /// Only this user, now (username or id; repeatable): each step shown
        /// (scope, matching, changes, calls, status); works while the agent runs.
        #[arg(long, value_name = "USER")]
        user: Vec<String>,
        /// Print the reports (with --user: the steps) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the agent: every rule on its interval, change notifications, the status server.
    Run,
    /// Show each rule's last runs and every object not in step, from the state database.
    Status {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Explain one user: scope, link, last synced values, applied changes, last error, next action.
    Explain {
        /// PingOne username or id, or Duo username or id.
        user: String,
        /// Print the explanation as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start both simulators with a sample directory and run check, plan and sync against them.
    Demo {
        /// Keep the agent and its status page running afterwards.
        #[arg(long)]
        serve: bool,
    },
    /// Approve a plan blocked by a safety limit, by the hash `status` and
    /// `plan` show; works while the agent runs.
    Approve {
        /// The rule.
        #[arg(long)]
        rule: String,
        /// The blocked plan's hash.
        hash: String,
    },
    /// Link a source object to an existing target object the rule did not
    /// create: the explicit answer to a "not adopted" conflict.
    Link {
        /// The rule.
        #[arg(long)]
        rule: String,
        /// user, admin or group.
        #[arg(long, default_value = "user")]
        kind: String,
        /// The source object's id (PingOne user or group id for outbound rules, Duo user id for inbound).
        #[arg(long)]
        source_id: String,
        /// The target object's id (Duo id for outbound rules, PingOne id for inbound).
        #[arg(long)]
        target_id: String,
    },
    /// One raw authorised call, for debugging a tenant.
    Api {
        /// Which side to call.
        #[arg(value_enum)]
        side: Side,
        /// HTTP method (GET, POST, PUT, PATCH, DELETE).
        method: String,
        /// Path, e.g. /admin/v1/users or /environments/{envId}/users.
        path: String,
        /// Parameters as key=value (query for GET/DELETE, body otherwise).
        params: Vec<String>,
    },
    /// Print an example configuration or validate one.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print a shell completion script (e.g. `p1duo completion bash > /etc/bash_completion.d/p1duo`).
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from these definitions.
    Man,
}

#[derive(Clone, Copy, ValueEnum)]
enum Side {
    Duo,
    Pingone,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print a commented example configuration.
    Example,
    /// Validate the configuration (secrets are read; nothing is contacted).
    Validate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.log_level.as_deref());
    let config_path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("p1duo.toml"));
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(dispatch(cli.command, config_path)),
        Err(e) => Err(AgentError::Other(format!(
            "cannot start the async runtime: {e}"
        ))),
    };
    // Whatever was buffered goes out now, so a failure to write shows here.
    let result = result.and_then(|o| {
        std::io::Write::flush(&mut std::io::stdout()).map_err(AgentError::Output)?;
        Ok(o)
    });
    match result {
        // The reader went away (`p1duo plan | head -1`): nothing to say.
        Err(e) if e.is_closed_output() => ExitCode::SUCCESS,
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn load(path: &std::path::Path) -> Result<Config, AgentError> {
    Config::load(path).map_err(AgentError::Config)
}

async fn dispatch(command: Command, config_path: PathBuf) -> Result<Outcome, AgentError> {
    let out = &mut std::io::stdout();
    match command {
        Command::Completion { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            // Into memory first: `generate` panics on a write error.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "p1duo", &mut script);
            out.write_all(&script).map_err(AgentError::Output)?;
            Ok(Outcome::InStep)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd)
                .render(out)
                .map_err(AgentError::Output)?;
            Ok(Outcome::InStep)
        }
        Command::Config {
            action: ConfigAction::Example,
        } => {
            write!(out, "{}", agent::EXAMPLE).map_err(AgentError::Output)?;
            Ok(Outcome::InStep)
        }
        Command::Config {
            action: ConfigAction::Validate,
        } => {
            let c = load(&config_path)?;
            for w in c.warnings() {
                writeln!(out, "warning: {w}").map_err(AgentError::Output)?;
            }
            writeln!(
                out,
                "{}: valid ({} rule{}: {})",
                config_path.display(),
                c.rules.len(),
                if c.rules.len() == 1 { "" } else { "s" },
                c.rules
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .map_err(AgentError::Output)?;
            Ok(Outcome::InStep)
        }
        Command::Check { json } => agent::check(&load(&config_path)?, json, out).await,
        Command::Plan { rule, json } => {
            agent::plan(&load(&config_path)?, rule.as_deref(), json, out).await
        }
        Command::Sync {
            rule,
            allow_deletes,
            user,
            json,
        } if !user.is_empty() => {
            let c = load(&config_path)?;
            agent::sync_users(&c, rule.as_deref(), &user, allow_deletes, json, out).await
        }
        Command::Sync {
            rule,
            allow_deletes,
            json,
            ..
        } => {
            let opts = agent::SyncOptions {
                rule,
                allow_deletes,
                json,
                progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            agent::sync(&load(&config_path)?, &opts, out).await
        }
        Command::Run => agent::run(config_path).await,
        Command::Status { json } => agent::status(&load(&config_path)?, json, out).await,
        Command::Explain { user, json } => {
            agent::explain(&load(&config_path)?, &user, json, out).await
        }
        Command::Demo { serve } => agent::demo(serve, out).await,
        Command::Approve { rule, hash } => {
            agent::approve(&load(&config_path)?, &rule, &hash, out).await
        }
        Command::Link {
            rule,
            kind,
            source_id,
            target_id,
        } => {
            let req = agent::LinkRequest {
                rule,
                kind,
                source_id,
                target_id,
            };
            agent::link(&load(&config_path)?, &req, out).await
        }
        Command::Api {
            side,
            method,
            path,
            params,
        } => {
            let side = match side {
                Side::Duo => agent::ApiSide::Duo,
                Side::Pingone => agent::ApiSide::PingOne,
            };
            agent::api(&load(&config_path)?, side, &method, &path, &params, out).await
        }
    }
}

fn init_logging(format: LogFormat, level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(l) => EnvFilter::try_new(l).unwrap_or_else(|_| EnvFilter::new("warn")),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colour only on a terminal, and never with NO_COLOR set.
        LogFormat::Text => builder
            .fmt_fields(logfmt::SafeFields)
            .with_ansi(colour(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Whether to colour what goes to `stream`: a terminal, and no `NO_COLOR`
/// (<https://no-color.org>: set and not empty).
fn colour(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
