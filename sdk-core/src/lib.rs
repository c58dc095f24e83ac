//! Platform-free, sans-IO client logic for rtm. Filled in by the sdk-core issue.
