//! The guides' configuration blocks, as users copy them: the forward-auth guide's for the nginx
//! and Caddy fixtures (`tests/common/nginx.rs`) and the benchmark (`harness/benchmark.rs`
//! includes this file), the keytab guide's gssproxy section for `tests/gssproxy.rs`, so that
//! they run what the guides say.
#![allow(dead_code)]

/// The forward-auth guide's code block number `n` (from 0) in `language` (`nginx`,
/// `caddyfile`).
pub fn guide_block(language: &str, n: usize) -> String {
    block_of(include_str!("../../src/guide/forward_auth.md"), language, n)
}

/// The keytab guide's code block number `n` (from 0) in `language` (`ini`: gssproxy's).
pub fn keytab_guide_block(language: &str, n: usize) -> String {
    block_of(include_str!("../../src/guide/keytab.md"), language, n)
}

/// The keytab guide's first code block in `language` that contains `needle`.
pub fn keytab_guide_block_with(language: &str, needle: &str) -> String {
    let guide = include_str!("../../src/guide/keytab.md");
    let fence = format!("```{language}\n");
    (0..guide.matches(&fence).count())
        .map(|n| block_of(guide, language, n))
        .find(|block| block.contains(needle))
        .unwrap_or_else(|| panic!("no {language} block with {needle} in the keytab guide"))
}

fn block_of(guide: &str, language: &str, n: usize) -> String {
    let fence = format!("```{language}\n");
    let (start, _) = guide
        .match_indices(&fence)
        .nth(n)
        .unwrap_or_else(|| panic!("{} {language} blocks in the guide", n + 1));
    let start = start + fence.len();
    let len = guide[start..].find("\n```").expect("the block's end");
    guide[start..start + len].to_owned()
}

/// A `server` block written as the guide's nginx block, its three addresses pointed at `port`
/// (nginx's own), `auth_port` (the endpoint) and `upstream_port` (the application).
pub fn point_nginx_block(block: &str, port: u16, auth_port: u16, upstream_port: u16) -> String {
    block
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{auth_port}"))
        .replace("127.0.0.1:3000", &format!("127.0.0.1:{upstream_port}"))
}
