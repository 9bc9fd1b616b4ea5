//! `Forwarded` and `X-Forwarded-For` header lines, as a proxy and the
//! client behind it may have written them, read behind trusted proxies.
#![no_main]

use std::net::IpAddr;
use std::sync::LazyLock;

use errata_server::forwarded::{ProxyHeader, TrustedProxies, client_address};
use libfuzzer_sys::fuzz_target;

static TRUSTED: LazyLock<TrustedProxies> = LazyLock::new(|| {
    TrustedProxies::parse("10.0.0.0/8, 2001:db8:ffff::/48").expect("valid proxies")
});

fuzz_target!(|data: &[u8]| {
    // The first half's lines are `Forwarded`, the second's `X-Forwarded-For`.
    let (forwarded, x_forwarded_for) = data.split_at(data.len() / 2);
    let forwarded: Vec<&[u8]> = forwarded.split(|&b| b == b'\n').collect();
    let x_forwarded_for: Vec<&[u8]> = x_forwarded_for.split(|&b| b == b'\n').collect();
    let stranger: IpAddr = [203, 0, 113, 1].into();
    let proxy: IpAddr = [10, 0, 0, 1].into();
    for (header, lines) in [
        (ProxyHeader::Forwarded, &forwarded),
        (ProxyHeader::XForwardedFor, &x_forwarded_for),
    ] {
        assert_eq!(
            client_address(stranger, &TRUSTED, header, lines),
            stranger,
            "an untrusted peer's headers are never read"
        );
        let _ = client_address(proxy, &TRUSTED, header, lines);
    }
});
