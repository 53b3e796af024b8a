//! The book cannot drift: every `{{#include}}` resolves to an existing file
//! and anchor, and every chapter in SUMMARY.md exists.

use std::path::Path;

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
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for part in text.split("{{#include ").skip(1) {
            let spec = &part[..part.find("}}").expect("closing braces")];
            let (file, anchor) = match spec.rsplit_once(':') {
                Some((f, a)) => (f, Some(a)),
                None => (spec, None),
            };
            let target = src.join(file);
            let content = std::fs::read_to_string(&target)
                .unwrap_or_else(|_| panic!("{}: include of missing {file}", path.display()));
            if let Some(a) = anchor {
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
