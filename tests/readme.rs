//! Every Rust snippet in the README is part of something CI compiles: an example, a test, or a
//! doctest in `src/`. Snippets are what users copy; one that drifted from compiled code could
//! teach a pattern nothing checks (the README once taught a path rule that let requests past
//! authentication).

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
    for dir in ["examples", "tests", "src"] {
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
