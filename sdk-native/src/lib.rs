//! The rtm client SDK for native Rust apps (tokio). Filled in by the sdk-native issue.
