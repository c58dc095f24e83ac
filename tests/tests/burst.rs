//! A room of 1,000 connections that vanish at once: a well-behaved member gets every leave
//! exactly once, or is disconnected as a slow consumer (its SDK would rejoin with a fresh
//! snapshot), never silently left with a partial view. Its own test binary: it loads the machine.

use std::collections::HashSet;

use futures_util::future::join_all;
use rtm_tests::raw::RawSocket;
use rtm_tests::{Store, TestServer, WAIT, on_both_stores, unique};
use serde_json::{Value, json};
use tokio::sync::mpsc;

on_both_stores!(a_burst_of_leaves_reaches_a_member_exactly_once);

async fn a_burst_of_leaves_reaches_a_member_exactly_once(store: Store) {
    // On Redis every join also makes a snapshot of the whole room in Lua: a smaller crowd keeps the
    // debug build's joins within the store timeout on two cores.
    let crowd_size = match store {
        Store::Memory => 1000,
        Store::Redis(_) => 300,
    };
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("burst");
    let mut member = RawSocket::connect(&server.url(), None).await.unwrap();
    let joined = member
        .request(
            "presence:join",
            &json!({"roomId": room, "userId": "member"}),
        )
        .await;
    let me = joined["self"]["connId"].clone();
    // The member reads all the time, as a well-behaved client does.
    let (events, mut received) = mpsc::unbounded_channel::<Value>();
    let reader = tokio::spawn(async move {
        while member.recv().await.is_some() {
            for (name, event) in member.events.drain(..) {
                if name == "presence:event" && event["connId"] != me {
                    let _ = events.send(event);
                }
            }
        }
    });
    let mut crowd = Vec::new();
    for chunk in 0..crowd_size / 10 {
        let readers = join_all((0..10).map(|i| {
            let (base, room) = (server.url(), room.clone());
            async move {
                let mut socket = RawSocket::connect(&base, None).await.unwrap();
                let join = json!({"roomId": room, "userId": format!("crowd-{chunk}-{i}")});
                let ack = socket.request("presence:join", &join).await;
                assert_eq!(ack["ok"], true, "{ack}");
                socket
            }
        }))
        .await;
        crowd.extend(
            readers
                .into_iter()
                .map(|s| tokio::spawn(s.read_until_closed())),
        );
    }
    let mut joins = HashSet::new();
    while joins.len() < crowd_size {
        let event = tokio::time::timeout(WAIT, received.recv())
            .await
            .expect("the joins keep coming")
            .expect("the member stays connected while the crowd joins");
        assert_eq!(event["type"], "join");
        assert!(joins.insert(event["connId"].as_str().unwrap().to_string()));
    }
    // The whole crowd vanishes at once: each TCP connection closes without a goodbye.
    for reader in &crowd {
        reader.abort();
    }
    let mut leaves = HashSet::new();
    while leaves.len() < crowd_size {
        match tokio::time::timeout(WAIT, received.recv()).await {
            Ok(Some(event)) => {
                assert_eq!(event["type"], "leave");
                let conn = event["connId"].as_str().unwrap().to_string();
                assert!(joins.contains(&conn), "a leave of a crowd member");
                assert!(leaves.insert(conn), "each leave once");
            }
            Ok(None) => {
                reader
                    .await
                    .expect("the member's reader ended without a panic");
                eprintln!(
                    "the member was disconnected as a slow consumer after {} leaves",
                    leaves.len()
                );
                break;
            }
            Err(_) => panic!("the leaves stopped at {} of {crowd_size}", leaves.len()),
        }
    }
    server.stop().await;
}
