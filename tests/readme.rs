//! Every Rust snippet in the README is part of something CI compiles: an example, a test, or a
//! doctest in `src/`. Snippets are what users copy; one that drifted from compiled code could
//! teach a pattern nothing checks (the README once taught a path rule that let requests past
//! authentication). The README's wire table is the crate docs' (copies of it once drifted to
//! 4 rows in one place and 8 in the other), and the README stays short enough to read.

use std::path::Path;

/// The lines of `text` that carry code, trimmed; doc-comment markers (`//!`, `///`) removed.
fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let t = l.trim();
            let t = t
                .strip_prefix("//!")
                .or_else(|| t.strip_prefix("///"))
                .unwrap_or(t);
            t.trim().to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// The ```rust blocks of a Markdown text.
fn rust_snippets(markdown: &str) -> Vec<String> {
    let mut snippets = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```rust") => current = Some(String::new()),
            (Some(_), "```") => snippets.extend(current.take()),
            (Some(s), _) => {
                s.push_str(line);
                s.push('\n');
            }
            _ => {}
        }
    }
    snippets
}

fn rust_files(dir: &Path, out: &mut Vec<(String, Vec<String>)>) {
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.display().to_string(), code_lines(&text)));
        }
    }
}

fn contains(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_readme_snippet_is_compiled_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut files = Vec::new();
    for dir in ["examples", "harness", "tests", "src", "testing/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let snippets = rust_snippets(&readme);
    assert!(!snippets.is_empty(), "found no ```rust snippet");
    let mut missing = Vec::new();
    for snippet in &snippets {
        let lines = code_lines(snippet);
        if !files.iter().any(|(_, code)| contains(code, &lines)) {
            missing.push(snippet.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "README snippets found in no example, test or doctest (copy them from the code):\n{}",
        missing.join("\n-----\n")
    );
}

#[test]
fn the_checker_notices_a_snippet_that_is_nowhere() {
    let readme = "text\n```rust\nlet x = 1;\nlet y = x + 1;\n```\n";
    let snippets = rust_snippets(readme);
    assert_eq!(snippets.len(), 1);
    let code = code_lines("/// let x = 1;\n///   let y = x + 1;\n");
    assert!(contains(&code, &code_lines(&snippets[0])));
    let other = code_lines("let x = 1;\nlet z = 2;\n");
    assert!(!contains(&other, &code_lines(&snippets[0])));
}

/// The rows of the first Markdown table whose header row is `header`, trimmed, without the
/// header and separator rows; `prefix` (`//!`) is removed from each line first.
fn table_rows(text: &str, prefix: &str, header: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim().strip_prefix(prefix).unwrap_or(l.trim()).trim())
        .collect();
    let Some(start) = lines.iter().position(|l| *l == header) else {
        return Vec::new();
    };
    lines[start + 1..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("| ---"))
        .map(|l| l.to_string())
        .collect()
}

/// Markdown links reduced to their text: rustdoc's `[`KerberosIdentity`]` and
/// `[replay store](ReplayProtection)` read as `` `KerberosIdentity` `` and `replay store`,
/// which is what the README writes.
fn without_links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            out.push_str(&rest[open..]);
            return out;
        };
        out.push_str(&after[..close]);
        rest = &after[close + 1..];
        if rest.starts_with('(') {
            match rest.find(')') {
                Some(end) => rest = &rest[end + 1..],
                None => return out + rest,
            }
        }
    }
    out + rest
}

const WIRE_TABLE_HEADER: &str = "| request | answer |";

#[test]
fn the_readme_wire_table_is_the_crate_docs_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let in_readme = table_rows(&readme, "", WIRE_TABLE_HEADER);
    let in_lib: Vec<String> = table_rows(&lib, "//!", WIRE_TABLE_HEADER)
        .iter()
        .map(|row| without_links(row))
        .collect();
    assert!(
        in_lib.len() >= 8,
        "src/lib.rs: {} wire table rows",
        in_lib.len()
    );
    assert_eq!(
        in_readme, in_lib,
        "the README's wire table must be src/lib.rs's, links aside"
    );
}

#[test]
fn the_readme_is_at_most_200_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines: long-form material goes to src/guide/"
    );
}

#[test]
fn links_reduce_to_their_text() {
    assert_eq!(
        without_links(
            "runs with the [`KerberosIdentity`]; the [replay store](ReplayProtection) is"
        ),
        "runs with the `KerberosIdentity`; the replay store is"
    );
    let table = "//! | request | answer |\n//! | --- | --- |\n//! | a | b |\n//!\n//! | c | d |\n";
    assert_eq!(table_rows(table, "//!", WIRE_TABLE_HEADER), ["| a | b |"]);
}
