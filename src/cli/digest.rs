//! `duro digest`: the last 24 hours (tables, runs, load, slowest and failing tables), printed and
//! posted to the Slack log channel. It exits 0 whatever became of the post: without a webhook,
//! or when the webhook fails, the printed digest is still there.

use super::Failure;
use duro::config::Config;
use duro::slack::{Delivery, Digest, Notifier, QUIET};
use duro::state::Store;

const HOURS: i64 = 24;

pub fn run(config: &Config, now: jiff::Timestamp) -> Result<i32, Failure> {
    let mut store = Store::open(&config.state)?;
    let digest = Digest::compute(&store, now, HOURS)?;
    println!("{}", digest.text());
    let Some(notifier) = Notifier::from_config(&config.slack) else {
        println!("Slack is not configured (slack.webhook_url): the digest was not posted.");
        return Ok(0);
    };
    let message = digest.message();
    let channel = match notifier.channel_name(message.channel) {
        "" => "the webhook's channel".to_string(),
        name => name.to_string(),
    };
    match notifier.post(&mut store, &message, now) {
        Delivery::Sent => println!("Posted to {channel}."),
        Delivery::Duplicate => println!(
            "Not posted: the same digest went to {channel} less than {} minutes ago.",
            QUIET.as_secs() / 60
        ),
        Delivery::Failed(_) => {
            println!("Not posted: the Slack webhook failed (see the warning above).")
        }
    }
    Ok(0)
}
