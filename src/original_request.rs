//! Which request a proxy asks [`ForwardAuth`](crate::ForwardAuth) about: the original path
//! (from `X-Forwarded-Uri`, as the client sent it) turned into the segments the route rules are
//! matched on, and the rules' places. Pure: imports nothing of the crate.
//!
//! Every route rule restricts; none grants. So wherever the original path could be read two
//! ways, a rule must apply under either reading: matching is case-insensitive (IIS), ignores
//! `;` parameters (servlet containers: `/admin;x=1` is `/admin`), takes `\` as a separator
//! (IIS), decodes percent-escapes once and resolves `.`, `..` and `//` (what nginx, Caddy and
//! most frameworks do before routing). Where the readings disagree in a way it cannot cover
//! (an escaped separator `%2F`, an escape left after decoding `%252F`, a control byte), the
//! path is [`Unclear`]: the endpoint then applies every rule.

use std::fmt;

/// An original path reduced to its segments: decoded, lower-cased, `;` parameters dropped,
/// dot segments and empty segments resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segments(Vec<Vec<u8>>);

/// Why a path cannot be matched as one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unclear(pub(crate) &'static str);

impl fmt::Display for Unclear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Segments {
    /// The segments of a request target: origin form (`/a/b?q`) or absolute form
    /// (`http://host/a/b`); the query and fragment are not part of it.
    pub(crate) fn parse(target: &[u8]) -> Result<Self, Unclear> {
        if target.is_empty() {
            return Err(Unclear("empty"));
        }
        if let Some(b) = target.iter().find(|b| !(0x21..=0x7e).contains(*b)) {
            return Err(if *b >= 0x80 {
                Unclear("a byte that is not ASCII")
            } else {
                Unclear("a control byte or a space")
            });
        }
        let path = strip_scheme_and_authority(target)?;
        let end = path
            .iter()
            .position(|b| *b == b'?' || *b == b'#')
            .unwrap_or(path.len());
        let mut segments: Vec<Vec<u8>> = Vec::new();
        // `\` is a separator to IIS: split on it too (a rule then covers either reading).
        for raw in path[..end].split(|b| *b == b'/' || *b == b'\\') {
            let mut segment = decode(raw)?;
            if let Some(semicolon) = segment.iter().position(|b| *b == b';') {
                segment.truncate(semicolon);
            }
            segment.make_ascii_lowercase();
            match segment.as_slice() {
                b"" | b"." => {}
                b".." => {
                    segments.pop();
                }
                _ => segments.push(segment),
            }
        }
        Ok(Self(segments))
    }

    /// Whether `self` is `prefix` or below it, whole segments compared.
    pub(crate) fn starts_with(&self, prefix: &Segments) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for Segments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        // Percent-encoded where a byte could be read another way: safe in a log line, and
        // parsed again it gives the same segments.
        for segment in &self.0 {
            f.write_str("/")?;
            for &b in segment {
                if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&b) {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "%{b:02X}")?;
                }
            }
        }
        Ok(())
    }
}

/// The path of an absolute-form target (`http://host/path` → `/path`), or the target itself
/// when it is in origin form.
fn strip_scheme_and_authority(target: &[u8]) -> Result<&[u8], Unclear> {
    if target[0] == b'/' {
        return Ok(target);
    }
    let lower = target.to_ascii_lowercase();
    let rest = if lower.starts_with(b"http://") {
        &target[7..]
    } else if lower.starts_with(b"https://") {
        &target[8..]
    } else {
        return Err(Unclear(
            "neither origin form (/path) nor absolute form (http://host/path)",
        ));
    };
    match rest.iter().position(|b| matches!(b, b'/' | b'?' | b'#')) {
        Some(i) if rest[i] == b'/' => Ok(&rest[i..]),
        _ => Ok(b"/"),
    }
}

/// One segment percent-decoded once; a decoded separator, control byte or a second layer of
/// escapes makes the path unclear.
fn decode(raw: &[u8]) -> Result<Vec<u8>, Unclear> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hex = raw.get(i + 1..i + 3).ok_or(Unclear("a truncated escape"))?;
            let value = hex_pair(hex).ok_or(Unclear("an escape that is not hexadecimal"))?;
            match value {
                b'/' | b'\\' => return Err(Unclear("an escaped separator (%2F or %5C)")),
                0..=0x1f | 0x7f => return Err(Unclear("an escaped control byte")),
                _ => out.push(value),
            }
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    // A server that decodes twice would read `%252F` as `/`: no reading covers both.
    if out
        .windows(3)
        .any(|w| w[0] == b'%' && hex_pair(&w[1..]).is_some())
    {
        return Err(Unclear("an escape inside an escape"));
    }
    Ok(out)
}

fn hex_pair(hex: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(hex[0])? * 16 + digit(hex[1])?) as u8)
}

/// Where a route rule applies: a path prefix, optionally only for some methods.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    prefix: Segments,
    /// Upper-cased; `None` for every method.
    methods: Option<Vec<String>>,
}

impl Place {
    /// `prefix` as [`Segments::parse`] reads it. Panics when it cannot be read: it is
    /// configuration, written by the developer.
    pub(crate) fn new(prefix: &str, methods: Option<Vec<String>>) -> Self {
        let prefix = Segments::parse(prefix.as_bytes()).unwrap_or_else(|why| {
            panic!("ForwardAuth route prefix {prefix:?} cannot be used: {why}")
        });
        let methods = methods.map(|m| m.into_iter().map(|m| m.to_ascii_uppercase()).collect());
        Self { prefix, methods }
    }

    /// Whether a rule here applies to the original request. An unknown method matches every
    /// method list; a `GET` rule covers `HEAD`, which servers answer as `GET`.
    pub(crate) fn covers(&self, method: Option<&str>, path: &Segments) -> bool {
        let method_matches = match (&self.methods, method) {
            (None, _) | (Some(_), None) => true,
            (Some(list), Some(method)) => {
                let method = method.to_ascii_uppercase();
                list.iter()
                    .any(|m| *m == method || (m == "GET" && method == "HEAD"))
            }
        };
        method_matches && path.starts_with(&self.prefix)
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.methods {
            Some(methods) => write!(f, "{} {}", methods.join("|"), self.prefix),
            None => write!(f, "{}", self.prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(target: &str) -> Result<String, Unclear> {
        Segments::parse(target.as_bytes()).map(|s| s.to_string())
    }

    #[test]
    fn spellings_of_one_path_are_one_path() {
        for target in [
            "/admin/users",
            "/Admin/USERS",
            "//admin//users/",
            "/./admin/./users",
            "/x/../admin/users",
            "/../../admin/users",
            "/%61dmin/users",
            "/%2e%2e/admin/users",
            "/x/%2E%2E/admin/users",
            "/admin;jsessionid=1/users;x",
            "/admin\\users",
            "/x\\..\\admin/users",
            "/admin/users?a=/public",
            "/admin/users#frag",
            "http://evil.example/admin/users",
            "HTTPS://host:8443/admin/users?x",
        ] {
            assert_eq!(path(target), Ok("/admin/users".to_owned()), "{target}");
        }
        assert_eq!(path("/"), Ok("/".to_owned()));
        assert_eq!(path("http://host"), Ok("/".to_owned()));
        assert_eq!(path("http://host?x=/admin"), Ok("/".to_owned()));
        // Rendered for logs: escaped where a byte could be read another way.
        assert_eq!(
            path("/a%3Fb/%C3%A9%20x/%25"),
            Ok("/a%3Fb/%C3%A9%20x/%25".to_owned())
        );
    }

    #[test]
    fn ambiguous_targets_are_unclear() {
        for target in [
            "",
            "*",
            "admin",
            "ftp://host/admin",
            "/admin%2Fusers",
            "/admin%2fusers",
            "/admin%5Cusers",
            "/a%252Fb",
            "/a%00b",
            "/a%0d%0ab",
            "/a%",
            "/a%4",
            "/a%zz",
            "/a b",
            "/a\tb",
            "/caf\u{e9}",
        ] {
            assert!(
                path(target).is_err(),
                "{target:?} read as {:?}",
                path(target)
            );
        }
    }

    #[test]
    fn places_match_whole_segments_and_methods() {
        let admin = Place::new("/admin", None);
        let seg = |t: &str| Segments::parse(t.as_bytes()).unwrap();
        assert!(admin.covers(Some("GET"), &seg("/admin")));
        assert!(admin.covers(Some("GET"), &seg("/ADMIN/x")));
        assert!(!admin.covers(Some("GET"), &seg("/administrator")));
        assert!(!admin.covers(Some("GET"), &seg("/public/admin")));
        let everything = Place::new("/", None);
        assert!(everything.covers(None, &seg("/")));
        assert!(everything.covers(None, &seg("/anything")));

        let writes = Place::new("/api", Some(vec!["post".into(), "Delete".into()]));
        assert!(writes.covers(Some("POST"), &seg("/api/x")));
        assert!(writes.covers(Some("delete"), &seg("/api/x")));
        assert!(!writes.covers(Some("GET"), &seg("/api/x")));
        assert!(writes.covers(None, &seg("/api/x")), "unknown method");
        let reads = Place::new("/api", Some(vec!["GET".into()]));
        assert!(reads.covers(Some("HEAD"), &seg("/api")));
        assert_eq!(writes.to_string(), "POST|DELETE /api");
    }

    #[test]
    #[should_panic(expected = "cannot be used")]
    fn an_unreadable_prefix_is_a_configuration_error() {
        Place::new("admin%2F", None);
    }

    /// A short deterministic fuzz of [`Segments::parse`] (the fuzz target
    /// `fuzz/fuzz_targets/original_uri.rs` runs it longer): never a panic, and whatever parses
    /// renders (as in log lines) to a path that parses to the same segments.
    #[test]
    fn parse_survives_mutated_targets() {
        let seeds: [&[u8]; 4] = [
            b"/a/../b%2e;x/c?q",
            b"http://h/%41/\\..",
            b"//x/%",
            b"/%25%32F",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"/\\.%;?#aZ09fF2e:";
        for round in 0..20_000 {
            let mut input = seeds[round % seeds.len()].to_vec();
            for _ in 0..(next() % 6) {
                let at = (next() as usize) % (input.len() + 1);
                match next() % 3 {
                    0 => input.insert(at, alphabet[(next() as usize) % alphabet.len()]),
                    1 if at < input.len() => {
                        input.remove(at);
                    }
                    _ => input.insert(at, next() as u8),
                }
            }
            check_round_trip(&input);
        }
    }

    fn check_round_trip(input: &[u8]) {
        if let Ok(segments) = Segments::parse(input) {
            let rendered = segments.to_string();
            assert_eq!(
                Segments::parse(rendered.as_bytes()),
                Ok(segments),
                "{input:?} rendered as {rendered}"
            );
        }
    }
}
