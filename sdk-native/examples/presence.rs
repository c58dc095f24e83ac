//! Joins a room, prints what happens in it, and changes its status every few seconds.
//!
//! With the demo server running (`make demo`):
//! `cargo run -p rtm-sdk --example presence -- --room lobby --user rustacean`
//! (`--count`: follow only how many are in the room, as a large audience's member would).

use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use rtm_sdk::{ChannelEvent, ClientOptions, JoinOptions, PresenceLevel, RealtimeClient};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// The server.
    #[arg(long, env = "RTM_URL", default_value = "http://localhost:3000")]
    url: String,
    /// The room to join.
    #[arg(long, default_value = "lobby")]
    room: String,
    /// Who to join as.
    #[arg(long, default_value = "rustacean")]
    user: String,
    /// Receive only the room's count, not its members.
    #[arg(long)]
    count: bool,
    /// Stop after this many seconds (0: run until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

#[tokio::main]
async fn main() -> Result<(), rtm_sdk::Error> {
    let args = Args::parse();
    let client = RealtimeClient::connect(ClientOptions::new(&args.url)).await?;
    let state = json!({"status": "online", "name": args.user, "color": "#c2410c"});
    let level = if args.count {
        PresenceLevel::Count
    } else {
        PresenceLevel::Events
    };
    let join = JoinOptions::new(&args.room, &args.user).state(state);
    let (channel, joined) = client.join_room(join.presence(level)).await?;
    println!(
        "joined {} as {} (epoch {})",
        args.room, args.user, joined.self_info.epoch
    );
    for member in channel.members() {
        println!(
            "  here: {} ({} tab(s))",
            member.user_id,
            member.connections.len()
        );
    }

    let mut events = channel.events();
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    let statuses = ["online", "away", "busy"];
    let mut n = 0;
    let stop = async {
        if args.seconds > 0 {
            tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        } else {
            let _ = tokio::signal::ctrl_c().await;
        }
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            Some(event) = events.next() => match event {
                ChannelEvent::Presence(e) => println!("{:?}: {} {} {:?}", e.kind, e.user_id, e.conn_id, e.state),
                ChannelEvent::HeartbeatAck { rtt_ms, .. } => println!("heartbeat ok ({rtt_ms} ms)"),
                ChannelEvent::Count(count) => println!("{count} in the room"),
                other => println!("{other:?}"),
            },
            _ = ticker.tick() => {
                n += 1;
                let status = statuses[n % statuses.len()];
                match channel.update_state(json!({"status": status})).await {
                    Ok(ack) => println!("status -> {status} (changed: {})", ack.changed),
                    Err(err) => println!("status update failed: {err} ({})", err.code()),
                }
            }
            () = &mut stop => break,
        }
    }
    channel.leave().await;
    client.disconnect().await;
    Ok(())
}
