//! The book cannot drift: every `{{#include}}` resolves to an existing file
//! and anchor, and every chapter in SUMMARY.md exists.

use std::path::Path;

/// The Markdown files of the book (its figures are beside them).
fn markdown_files(src: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect()
}

#[test]
fn book_includes_and_chapters_resolve() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).expect("SUMMARY.md");
    let mut chapters = 0;
    for part in summary.split("](").skip(1) {
        let file = &part[..part.find(')').expect("closing parenthesis")];
        assert!(
            src.join(file).is_file(),
            "SUMMARY.md names missing chapter {file}"
        );
        chapters += 1;
    }
    assert!(chapters >= 8);
    let mut includes = 0;
    for path in markdown_files(&src) {
        let text = std::fs::read_to_string(&path).unwrap();
        for part in text.split("{{#include ").skip(1) {
            let spec = &part[..part.find("}}").expect("closing braces")];
            // `file`, `file:anchor` or `file:first_line:[last_line]`.
            let mut parts = spec.split(':');
            let file = parts.next().expect("a file");
            let anchor = parts.next();
            let target = src.join(file);
            let content = std::fs::read_to_string(&target)
                .unwrap_or_else(|_| panic!("{}: include of missing {file}", path.display()));
            if let Some(first) = anchor.and_then(|a| a.parse::<usize>().ok()) {
                assert!(
                    content.lines().count() >= first,
                    "{}: {file} has fewer than {first} lines",
                    path.display()
                );
            } else if let Some(a) = anchor {
                assert!(
                    content.contains(&format!("ANCHOR: {a}"))
                        && content.contains(&format!("ANCHOR_END: {a}")),
                    "{}: anchor {a} missing in {file}",
                    path.display()
                );
            }
            includes += 1;
        }
    }
    assert!(includes >= 4);
}

/// The repository paths a Markdown text cites in code spans (`a/b.rs`)
/// that exist neither from the repository root nor inside any crate;
/// generated outputs (`out/`) and URLs are not paths.
fn missing_paths(text: &str, root: &Path) -> Vec<String> {
    let crates: Vec<std::path::PathBuf> = ["crates", "backends"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.contains('/')
                && !s.contains([' ', ':', '{', '*', '$', '<'])
                && !s.starts_with(['/', '.', '-'])
                && !s.starts_with("out/")
                && !s.starts_with("target/")
        })
        .filter(|s| !root.join(s).exists() && !crates.iter().any(|c| c.join(s).exists()))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_path_the_docs_cite_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    files.extend(markdown_files(&root.join("book/src")));
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let missing = missing_paths(&text, &root);
        assert!(
            missing.is_empty(),
            "{} cites missing {missing:?}",
            file.display()
        );
        checked += 1;
    }
    assert!(checked >= 10);
    // The checker finds what is not there.
    let text = "see `data/reference/anchors/README.md` and `crates/ruxley/tests/book.rs`";
    assert_eq!(
        missing_paths(text, &root),
        ["data/reference/anchors/README.md"]
    );
}
