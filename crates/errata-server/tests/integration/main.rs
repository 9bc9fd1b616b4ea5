//! errata-server's integration tests, one binary: each module was a test
//! file of its own, and each binary linked the whole server. They start
//! real servers on 127.0.0.1:0 through `errata-test-support`.

mod adversarial;
mod audit;
mod edges;
mod errors_page;
mod graphql_http;
mod groups;
mod identity;
mod mail;
mod nginx;
mod outages;
mod page_cache;
mod pages;
mod proxies;
mod response_cache;
mod schema_vs_graphql_js;
mod shared_limits;
mod stores;
mod tokens;
